"""``[libvirt] slice_spec`` lines -> validated :class:`Slice` entries.

Each line is one JSON object::

    {"name": "slice-4-0", "resource_class": "CUSTOM_SLICE_4",
     "template_file": "/etc/virtfleet/slices/slice-4.xml.j2", "conflict_parent": "slice-8"}

``template`` (inline Jinja2 text) may replace ``template_file``; simulated hosts of a
fleet file pass their slices that way. Every error is a
:class:`~virtfleet.errors.ConfigError` that names the entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from virtfleet.errors import ConfigError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RESOURCE_CLASS = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
KEYS = frozenset({"name", "resource_class", "template_file", "template", "conflict_parent"})
#: Most slice_spec lines (slices) one host may configure.
MAX_SLICES = 1024
#: Most characters of one slice_spec line, and of one template.
MAX_SPEC_CHARS = 1 << 20


@dataclass(frozen=True)
class Slice:
    """One configured slice: its custom resource class and its template text."""

    name: str
    resource_class: str
    template_text: str
    template_origin: str  # the file, or "inline"
    conflict_parent: str | None = None


def parse_specs(lines: Sequence[str], base_dir: Path | None = None) -> tuple[Slice, ...]:
    """Parse and validate every entry, then the tree (duplicates, parents, cycles).

    Relative ``template_file`` paths are taken from ``base_dir`` (else the current
    directory)."""
    if len(lines) > MAX_SLICES:
        raise ConfigError(
            f"slice_spec: {len(lines)} entries; a host may have at most {MAX_SLICES} slices"
        )
    slices = tuple(_parse_line(i, line, base_dir) for i, line in enumerate(lines, start=1))
    check_tree(slices)
    return slices


def check_tree(slices: Iterable[Slice]) -> None:
    """Names unique, every ``conflict_parent`` a configured slice, no cycles."""
    parents: dict[str, str | None] = {}
    for entry in slices:
        if entry.name in parents:
            raise ConfigError(f"slice_spec {entry.name!r}: duplicate slice name")
        parents[entry.name] = entry.conflict_parent
    for name, parent in parents.items():
        if parent is not None and parent not in parents:
            raise ConfigError(f"slice_spec {name!r}: unknown conflict_parent {parent!r}")
    for name in parents:
        seen = {name}
        parent = parents[name]
        while parent is not None:
            if parent in seen:
                raise ConfigError(
                    f"slice_spec {name!r}: conflict_parent chain has a cycle through {parent!r}"
                )
            seen.add(parent)
            parent = parents[parent]


def _parse_line(index: int, line: str, base_dir: Path | None) -> Slice:
    label = f"slice_spec entry {index}"
    if len(line) > MAX_SPEC_CHARS:
        raise ConfigError(
            f"{label}: {len(line)} characters; an entry may have at most {MAX_SPEC_CHARS}"
        )
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{label}: not a JSON object: {exc.msg}") from None
    except RecursionError:
        raise ConfigError(
            f"{label}: not a JSON object: nested too deeply; expected one flat object "
            '{"name": ..., "resource_class": ..., "template_file": ...}'
        ) from None
    if not isinstance(item, dict):
        raise ConfigError(f"{label}: expected a JSON object, got {type(item).__name__}")
    name = item.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(f"{label}: name: expected a slice name ([A-Za-z0-9_.-]), got {name!r}")
    label = f"slice_spec {name!r}"
    unknown = sorted(set(item) - KEYS)
    if unknown:
        raise ConfigError(f"{label}: unknown key {unknown[0]!r}")
    resource_class = item.get("resource_class")
    if not isinstance(resource_class, str) or not RESOURCE_CLASS.match(resource_class):
        raise ConfigError(
            f"{label}: resource_class must be CUSTOM_ followed by A-Z, 0-9 or _, "
            f"got {resource_class!r}"
        )
    parent = item.get("conflict_parent")
    if parent is not None and not isinstance(parent, str):
        raise ConfigError(f"{label}: conflict_parent: expected a slice name, got {parent!r}")
    text, origin = _template(label, item, base_dir)
    return Slice(name, resource_class, text, origin, parent)


def _template(label: str, item: dict[str, object], base_dir: Path | None) -> tuple[str, str]:
    inline, file = item.get("template"), item.get("template_file")
    if (inline is None) == (file is None):
        raise ConfigError(f"{label}: give exactly one of template_file and template")
    if inline is not None:
        if not isinstance(inline, str):
            raise ConfigError(f"{label}: template: expected Jinja2 text")
        return inline, "inline"
    if not isinstance(file, str) or not file:
        raise ConfigError(f"{label}: template_file: expected a path, got {file!r}")
    path = Path(file)
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    problem = template_file_problem(path)
    if problem is not None:
        raise ConfigError(f"{label}: template_file {str(path)!r} {problem}")
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: template_file {str(path)!r} cannot be read: {exc}") from None


def template_file_problem(path: Path) -> str | None:
    """What keeps ``path`` from being a template file, or None (it may still be
    unreadable)."""
    if path.is_dir():
        return "is a directory; expected a Jinja2 template file"
    if not path.exists():
        return "does not exist"
    if not path.is_file():
        return "is not a regular file; expected a Jinja2 template file"
    if path.stat().st_size > MAX_SPEC_CHARS:
        return f"has {path.stat().st_size} bytes; a template may have at most {MAX_SPEC_CHARS}"
    return None
