"""No import cycles in virtfleet: the import graph (support.import_graph: module-level,
function-local and TYPE_CHECKING imports all count) has no strongly connected
component of more than one module."""

from __future__ import annotations

import pathlib

from support.import_graph import PACKAGE, import_cycles, import_graph


def describe(cycle: list[str], graph: dict[str, set[str]]) -> str:
    members = set(cycle)
    edges = (f"  {m} -> {', '.join(sorted(graph[m] & members))}" for m in cycle)
    return f"{len(cycle)} modules:\n" + "\n".join(edges)


def test_virtfleet_has_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 100, f"the graph of {PACKAGE} looks empty: {len(graph)} modules"
    cycles = import_cycles(graph)
    assert len(cycles) == 0, f"{len(cycles)} import cycles:\n" + "\n".join(
        describe(c, graph) for c in cycles
    )


def write(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    package = root / "virtfleet"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_a_cycle_through_a_function_or_type_checking_import_is_found(
    tmp_path: pathlib.Path,
) -> None:
    package = write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "def f():\n    from virtfleet import b\n",
            "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n",
            "c.py": "from virtfleet.a import f\n",
            "d.py": "import virtfleet.a\n",
        },
    )
    assert import_cycles(import_graph(package)) == [["virtfleet.a", "virtfleet.b", "virtfleet.c"]]


def test_relative_and_package_imports_resolve_to_modules(tmp_path: pathlib.Path) -> None:
    package = write(
        tmp_path,
        {
            "__init__.py": "",
            "sub/__init__.py": "from .leaf import X\n",
            "sub/leaf.py": "from .. import other\nX = 1\n",
            "other.py": "from virtfleet.sub import X\n",
        },
    )
    graph = import_graph(package)
    assert graph["virtfleet.sub"] == {"virtfleet.sub.leaf"}
    assert graph["virtfleet.sub.leaf"] == {"virtfleet.other"}
    assert graph["virtfleet.other"] == {"virtfleet.sub"}
    assert import_cycles(graph) == [["virtfleet.other", "virtfleet.sub", "virtfleet.sub.leaf"]]
