"""What QEMU offers per guest architecture: emulator binary, word size, machine types.

The table (``data/sim/qemu-machines.json``) is the machine list real libvirt 9.0.0 reports
for QEMU 7.2. Versioned machine families (``pc-q35-7.2``, ``virt-7.2``, ``pseries-7.2``
...) are re-versioned for the simulated host's QEMU: versions newer than the host's
QEMU are dropped, releases up to it are added, and aliases (``q35``) point to the
newest one, as QEMU itself does.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources

# QEMU releases that carry versioned machine types, oldest first.
QEMU_RELEASES: tuple[tuple[int, int], ...] = (
    *((2, minor) for minor in range(13)),
    *((3, minor) for minor in range(2)),
    *((4, minor) for minor in range(3)),
    *((5, minor) for minor in range(3)),
    *((6, minor) for minor in range(3)),
    *((7, minor) for minor in range(3)),
    *((8, minor) for minor in range(3)),
    *((9, minor) for minor in range(3)),
    (10, 0),
    (10, 1),
)

# The QEMU release the table was captured from.
REFERENCE_QEMU = (7, 2)

_VERSIONED = re.compile(r"^(?P<family>.+)-(?P<major>\d+)\.(?P<minor>\d+)$")


@dataclass(frozen=True)
class Machine:
    """One ``<machine>`` entry; ``canonical`` is set for aliases such as ``q35``."""

    name: str
    max_cpus: int
    canonical: str | None = None
    deprecated: bool = False


@dataclass(frozen=True)
class ArchInfo:
    """What one ``qemu-system-*`` binary offers for one guest arch."""

    arch: str
    wordsize: int
    emulator: str
    machines: tuple[Machine, ...]

    def machine(self, name: str) -> Machine | None:
        """The machine called ``name`` (an alias or a canonical name), if offered."""
        for machine in self.machines:
            if machine.name == name:
                return machine
        return None

    def canonical_name(self, name: str) -> str:
        """``q35`` -> ``pc-q35-8.2``; canonical names map to themselves."""
        machine = self.machine(name)
        return machine.canonical if machine and machine.canonical else name


@functools.cache
def _table() -> dict[str, dict[str, object]]:
    text = resources.files("virtfleet").joinpath("data/sim/qemu-machines.json").read_text()
    data: dict[str, dict[str, object]] = json.loads(text)["arches"]
    return data


def known_arches() -> frozenset[str]:
    """Every guest arch some QEMU binary emulates."""
    return frozenset(_table())


@functools.cache
def arch_info(arch: str, qemu_version: tuple[int, int]) -> ArchInfo:
    """The table entry for ``arch`` re-versioned for QEMU ``qemu_version``.

    Raises ``KeyError`` for an arch QEMU does not emulate.
    """
    entry = _table()[arch]
    raw = entry["machines"]
    assert isinstance(raw, list)
    # Rows: [name, maxCpus, canonical or null, (true when deprecated)].
    machines = [
        Machine(str(item[0]), int(item[1]), item[2], len(item) > 3 and bool(item[3]))
        for item in raw
    ]
    return ArchInfo(
        arch=arch,
        wordsize=int(str(entry["wordsize"])),
        emulator=str(entry["emulator"]),
        machines=tuple(_reversion(machines, qemu_version)),
    )


def _reversion(machines: list[Machine], qemu: tuple[int, int]) -> list[Machine]:
    families: dict[str, int] = {}
    for machine in machines:
        match = _VERSIONED.match(machine.canonical or "")
        if machine.canonical and match:
            families[match["family"]] = machine.max_cpus
    result: list[Machine] = []
    present: set[str] = set()
    for machine in machines:
        match = _VERSIONED.match(machine.name)
        if match and match["family"] in families:
            if (int(match["major"]), int(match["minor"])) > qemu:
                continue
            present.add(machine.name)
        if machine.canonical is None:
            result.append(machine)
    for family, max_cpus in families.items():
        newest: str | None = None
        for release in QEMU_RELEASES:
            name = f"{family}-{release[0]}.{release[1]}"
            if release > qemu or (release <= REFERENCE_QEMU and name not in present):
                continue
            newest = name
            if name not in present:
                result.append(Machine(name, max_cpus))
                present.add(name)
        if newest is None:
            continue
        for machine in machines:
            if machine.canonical and machine.canonical.startswith(family + "-"):
                result.append(Machine(machine.name, machine.max_cpus, newest))
    for machine in machines:
        if machine.canonical and not _VERSIONED.match(machine.canonical):
            result.append(machine)
    return sorted(result, key=lambda m: m.name)
