"""The conflict tree of a host's slices: ancestry, overlap rules, providers, printing."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from virtfleet.db.hosts import host_uuid
from virtfleet.errors import ConfigError, InvalidInput
from virtfleet.virt.libvirt.slices.holdings import Holdings
from virtfleet.virt.libvirt.slices.spec import Slice

EMPTY = Holdings(frozenset(), frozenset(), frozenset())


@dataclass(frozen=True)
class SliceProvider:
    """A slice as a nested resource provider of the host report (``NestedProviderInfo``)."""

    name: str
    parent_name: str | None  # None: under the compute node
    inventories: Mapping[str, int]
    traits: frozenset[str] = frozenset()


def provider_uuid(host: str, slice_name: str) -> str:
    """The placement uuid of ``slice_name`` on ``host``: host reporting derives nested
    provider uuids as uuid5(compute node uuid, reported name)."""
    return str(uuid_lib.uuid5(uuid_lib.UUID(host_uuid(host)), slice_name))


@dataclass(frozen=True)
class SliceTree:
    """Validated slices of one host, in configuration order, with what each holds."""

    slices: tuple[Slice, ...]
    holdings: Mapping[str, Holdings] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.slices)

    @property
    def by_name(self) -> dict[str, Slice]:
        return {s.name: s for s in self.slices}

    def children(self, name: str | None) -> list[Slice]:
        """Slices directly below ``name`` (None: the top-level slices)."""
        return [s for s in self.slices if s.conflict_parent == name]

    def ancestors(self, name: str) -> list[str]:
        """Nearest first."""
        found: list[str] = []
        parent = self.by_name[name].conflict_parent
        while parent is not None:
            found.append(parent)
            parent = self.by_name[parent].conflict_parent
        return found

    def descendants(self, name: str) -> list[str]:
        """Every slice below ``name``, depth first."""
        found: list[str] = []
        for child in self.children(name):
            found.append(child.name)
            found.extend(self.descendants(child.name))
        return found

    def related(self, a: str, b: str) -> bool:
        """Whether ``a`` and ``b`` are the same slice or one is an ancestor of the other."""
        return a == b or a in self.ancestors(b) or b in self.ancestors(a)

    def check_overlaps(self) -> None:
        """Slices that may run side by side (neither is an ancestor of the other) share
        no host CPUs and no devices."""
        names = [s.name for s in self.slices]
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if self.related(a, b):
                    continue
                held_a, held_b = self.holdings.get(a, EMPTY), self.holdings.get(b, EMPTY)
                cpus = held_a.cpus & held_b.cpus
                devices = held_a.pci_devices & held_b.pci_devices
                if cpus or devices:
                    what = Holdings(cpus, frozenset(), devices).describe()
                    raise ConfigError(
                        f"slice_spec {a!r} and {b!r} can run side by side (neither is an "
                        f"ancestor of the other) but both hold {what}"
                    )

    def providers(self) -> list[SliceProvider]:
        """One child provider per slice, each with 1 unit of its resource class."""
        return [
            SliceProvider(s.name, s.conflict_parent, {s.resource_class: 1}) for s in self.slices
        ]

    def provider_uuids(self, host: str) -> dict[str, str]:
        """Placement uuid -> slice name on ``host``."""
        return {provider_uuid(host, s.name): s.name for s in self.slices}

    def walk(self) -> Iterator[tuple[int, Slice]]:
        """(depth, slice), parents before children, siblings in configuration order."""

        def below(parent: str | None, depth: int) -> Iterator[tuple[int, Slice]]:
            for child in self.children(parent):
                yield depth, child
                yield from below(child.name, depth + 1)

        yield from below(None, 0)

    def lines(self, notes: Mapping[str, str] | None = None) -> list[str]:
        """The tree as indented lines: name, class, what it holds (and a note)."""
        out = []
        for depth, entry in self.walk():
            held = self.holdings.get(entry.name, EMPTY).describe()
            note = f"  [{notes[entry.name]}]" if notes and entry.name in notes else ""
            out.append(f"{'  ' * depth}{entry.name} ({entry.resource_class}): {held}{note}")
        return out


def slice_of_allocation(
    tree: SliceTree, host: str, allocations: Mapping[str, Mapping[str, int]]
) -> Slice | None:
    """The slice a guest was given: of the slices its allocation takes, the one that
    is no other's descendant (the claim also takes every slice below it)."""
    by_uuid = tree.provider_uuids(host)
    taken = [by_uuid[rp] for rp in allocations if rp in by_uuid]
    if not taken:
        return None
    tops = [name for name in taken if not any(a in taken for a in tree.ancestors(name))]
    if len(tops) != 1:
        raise InvalidInput(
            f"allocation takes {len(tops)} unrelated slices ({', '.join(sorted(tops))}); "
            "a guest gets exactly one"
        )
    return tree.by_name[tops[0]]
