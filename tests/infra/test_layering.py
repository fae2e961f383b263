"""Layers only import downward (DESIGN.md: cli/api -> conductor/scheduler ->
placement/compute -> virt -> objects/db), checked over every module's imports."""

from __future__ import annotations

import ast
import pathlib

import pytest

import virtfleet

PACKAGE = pathlib.Path(virtfleet.__file__).parent

#: Top-level module or package -> layer; a module may import its own layer and below.
LAYERS: dict[str, int] = {
    **dict.fromkeys(("cli", "api", "bench", "control_plane", "server_process"), 6),
    **dict.fromkeys(("agent_process", "broker"), 6),
    **dict.fromkeys(("conductor", "scheduler"), 5),
    **dict.fromkeys(("placement", "agent", "image", "network"), 4),
    "virt": 3,
    **dict.fromkeys(("objects", "db", "rpc"), 2),
    **dict.fromkeys(("errors", "conf", "data", "__init__", "__main__"), 1),
}


def virtfleet_imports(path: pathlib.Path) -> list[str]:
    """The ``virtfleet.*`` modules ``path`` imports (TYPE_CHECKING imports included)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("virtfleet."):
            found.append(str(node.module))
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name.startswith("virtfleet."))
    return found


def top_level(module: str) -> str:
    return module.split(".")[1]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_top_level_module_has_a_layer() -> None:
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert tops <= LAYERS.keys(), f"give these a layer: {sorted(tops - LAYERS.keys())}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_downward(path: pathlib.Path) -> None:
    mine = LAYERS[path.relative_to(PACKAGE).parts[0].removesuffix(".py")]
    upward = [m for m in virtfleet_imports(path) if LAYERS.get(top_level(m), 0) > mine]
    assert not upward, f"{path.relative_to(PACKAGE)} imports a higher layer: {upward}"


def test_the_check_sees_an_upward_import(tmp_path: pathlib.Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from virtfleet.scheduler.manager import Scheduler\n")
    assert [LAYERS[top_level(m)] for m in virtfleet_imports(module)] == [5]
