"""virtfleet's import graph, read from the source (AST, nothing imported).

An edge ``a -> b`` is any import of ``b`` written in ``a``: at module level, inside a
function, or under ``if TYPE_CHECKING:``. All three count: an import hidden in a
function is still a dependency (only deferred), and a TYPE_CHECKING import still
couples the two modules' types, so a cycle through one is a design cycle all the same.
Relative imports are resolved; ``from pkg import name`` is an edge to ``pkg.name`` when
that is a module, else to ``pkg``. The implicit import of a package's ``__init__`` by
its submodules is not an edge (every submodule would otherwise form a cycle with a
package that re-exports it).
"""

from __future__ import annotations

import ast
import pathlib

import virtfleet

PACKAGE = pathlib.Path(virtfleet.__file__).parent


def module_name(path: pathlib.Path, package: pathlib.Path = PACKAGE) -> str:
    """``virtfleet.a.b`` for ``<package>/a/b.py`` (and ``virtfleet.a`` for its
    ``__init__.py``)."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: pathlib.Path = PACKAGE) -> dict[str, pathlib.Path]:
    """Every module of the package tree, by dotted name."""
    return {module_name(path, package): path for path in sorted(package.rglob("*.py"))}


def _nearest(name: str, known: dict[str, pathlib.Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imported_modules(
    path: pathlib.Path, known: dict[str, pathlib.Path], package_root: pathlib.Path = PACKAGE
) -> set[str]:
    """The modules of ``known`` that the module at ``path`` (under ``package_root``) imports."""
    me = module_name(path, package_root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(_nearest(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else _nearest(base, known))
    found.discard(None)
    found.discard(me)
    return {name for name in found if name is not None}


def import_graph(package: pathlib.Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the modules it imports, for every module of the package tree."""
    known = modules(package)
    return {name: imported_modules(path, known, package) for name, path in known.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm,
    iterative), each sorted; every import cycle lies inside one of them."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return sorted(cycles)
