"""Layers only import downward (cli/api -> conductor/scheduler -> placement/agent/image
-> virt -> objects/db/rpc -> errors/conf), checked over every module's imports.

Every ``.py`` file under src/virtfleet is checked, so a new module or sub-package (e.g.
``conductor/moves/``, ``objects/guest_request.py``) is covered without editing this
file; a new top-level package fails :func:`test_every_top_level_module_has_a_layer`
until it is given a layer here. Imports are read as support.import_graph reads them:
relative, ``from virtfleet import x``, function-local and TYPE_CHECKING imports count.
"""

from __future__ import annotations

import pathlib

import pytest

from support.import_graph import PACKAGE, imported_modules, module_name, modules

#: Top-level module or package -> layer; a module may import its own layer and below.
LAYERS: dict[str, int] = {
    **dict.fromkeys(("cli", "api", "bench", "control_plane", "server_process"), 6),
    **dict.fromkeys(("agent_process", "broker"), 6),
    **dict.fromkeys(("conductor", "scheduler", "quota"), 5),
    **dict.fromkeys(("placement", "agent", "image", "network", "servers"), 4),
    "virt": 3,
    **dict.fromkeys(("objects", "db", "rpc", "identity"), 2),
    **dict.fromkeys(("errors", "conf", "data", "observability", "__main__"), 1),
}

MODULES = modules()

#: Directories of scripts that are loaded by path, not imported (alembic's).
SCRIPT_DIRECTORIES = {"db/migrations", "db/migrations/versions"}


def top_level(module: str) -> str:
    """``conductor`` for ``virtfleet.conductor.moves.claim``; ``__init__`` for ``virtfleet``."""
    return module.split(".")[1] if "." in module else "__init__"


def layer(module: str) -> int:
    return 0 if module == "virtfleet" else LAYERS[top_level(module)]


def test_every_top_level_module_has_a_layer() -> None:
    tops = {top_level(name) for name in MODULES} - {"__init__"}
    assert tops <= LAYERS.keys(), f"give these a layer in LAYERS: {sorted(tops - LAYERS.keys())}"


def test_every_source_directory_is_a_package() -> None:
    """A directory of modules without ``__init__.py`` would be a namespace package:
    importable, but easy to miss (and not what ``modules()`` names it)."""
    missing = sorted(
        str(d.relative_to(PACKAGE))
        for d in PACKAGE.rglob("*")
        if d.is_dir() and any(d.glob("*.py")) and not (d / "__init__.py").exists()
    )
    missing = [d for d in missing if d not in SCRIPT_DIRECTORIES]
    assert not missing, f"add __init__.py to: {missing}"


@pytest.mark.parametrize("name", sorted(MODULES), ids=lambda n: n.removeprefix("virtfleet."))
def test_imports_go_downward(name: str) -> None:
    upward = sorted(m for m in imported_modules(MODULES[name], MODULES) if layer(m) > layer(name))
    assert not upward, f"{name} (layer {layer(name)}) imports a higher layer: {upward}"


def test_the_check_sees_upward_imports_of_every_form(tmp_path: pathlib.Path) -> None:
    package = tmp_path / "virtfleet"
    (package / "db").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "db" / "__init__.py").write_text("")
    (package / "scheduler.py").write_text("")
    (package / "conductor.py").write_text("")
    bad = package / "db" / "bad.py"
    bad.write_text("from virtfleet import scheduler\ndef later():\n    from .. import conductor\n")
    known = modules(package)
    found = imported_modules(bad, known, package)
    assert found == {"virtfleet.scheduler", "virtfleet.conductor"}
    assert module_name(bad, package) == "virtfleet.db.bad"
    assert sorted(layer(m) for m in found) == [5, 5]
