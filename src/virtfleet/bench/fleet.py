"""A deterministic benchmark fleet, as plain data any placement engine can load.

``generate(hosts, seed)`` returns the same :class:`Fleet` for the same arguments:

==========  =====  ===========================================================
kind        share  providers
==========  =====  ===========================================================
compute     80 %   root with VCPU/MEMORY_MB/DISK_GB, arch traits (native arch,
                   emulated arches), some COMPUTE_ADDRESS_SPACE_* traits
vgpu        10 %   x86_64 compute root + 2 GPU children with VGPU inventory and a
                   ``CUSTOM_VGPU_<TYPE>`` trait
slice       10 %   root (no VCPU/RAM/disk) -> SLICE_8 -> 2 x SLICE_4 -> 4 x SLICE_1
                   each, one unit of a ``CUSTOM_SLICE_<N>_GPU_V1`` class per slice
==========  =====  ===========================================================

About half of the hosts are in use: consumers hold allocations as virtfleet writes
them (a slice claim takes the slice and every slice below it).
"""

from __future__ import annotations

import random
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from virtfleet.db.hosts import host_uuid
from virtfleet.placement.types import Inventory

FLEET_NAMESPACE = uuidlib.UUID("3c1f7d52-96a4-4be6-8f0e-6a2b1f8d0b11")

SLICE_8 = "CUSTOM_SLICE_8_GPU_V1"
SLICE_4 = "CUSTOM_SLICE_4_GPU_V1"
SLICE_1 = "CUSTOM_SLICE_1_GPU_V1"
VGPU_TYPES = ("CUSTOM_VGPU_A16", "CUSTOM_VGPU_L4")
CUSTOM_RESOURCE_CLASSES = (SLICE_8, SLICE_4, SLICE_1)
CUSTOM_TRAITS = VGPU_TYPES

#: Share of each host kind (the rest is compute).
KIND_SHARES: dict[str, float] = {"vgpu": 0.10, "slice": 0.10}
#: Share of hosts that hold allocations, and the fill levels they draw from.
USED_SHARE = 0.5
FILL_LEVELS = (0.5, 0.75, 1.0)

#: Host arch of compute hosts: (arch, weight, arches it can emulate with their odds).
ARCH_MIX: tuple[tuple[str, float, Mapping[str, float]], ...] = (
    ("x86_64", 0.70, {"aarch64": 0.5, "riscv64": 0.3, "s390x": 0.1}),
    ("aarch64", 0.20, {"x86_64": 0.3}),
    ("ppc64le", 0.05, {"x86_64": 0.2}),
    ("s390x", 0.05, {}),
)
#: x86_64 hosts reporting guest physical address modes: (trait, odds).
ADDRESS_SPACE_ODDS = (
    ("COMPUTE_ADDRESS_SPACE_EMULATED", 0.4),
    ("COMPUTE_ADDRESS_SPACE_PASSTHROUGH", 0.2),
)
#: Root inventories of compute-capable hosts: choices of (VCPU, MEMORY_MB, DISK_GB).
HOST_SIZES = ((64, 262144, 2000), (64, 524288, 4000), (128, 524288, 4000))
VCPU_RATIO = 4.0
MEMORY_RESERVED_MB = 4096
#: The guest size that fills compute hosts, and the one that fills vGPU hosts.
FILL_GUEST = {"VCPU": 16, "MEMORY_MB": 32768, "DISK_GB": 100}
VGPU_GUEST = {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 80}
VGPUS_PER_GPU = 8
#: Slice fill patterns of used slice hosts: (name, weight).
SLICE_PATTERNS = (("whole", 0.4), ("half", 0.4), ("some", 0.2))

PROJECT_ID = "bench-project"
USER_ID = "bench-user"


def stable_uuid(name: str) -> str:
    return str(uuidlib.uuid5(FLEET_NAMESPACE, name))


@dataclass(frozen=True)
class ProviderSpec:
    """One resource provider; parents come before their children in a host. A root's
    uuid is its compute node's (:func:`virtfleet.db.hosts.host_uuid` of the name)."""

    uuid: str
    name: str
    parent_uuid: str | None
    inventories: Mapping[str, Inventory]
    traits: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ConsumerSpec:
    uuid: str
    allocations: Mapping[str, Mapping[str, int]]
    project_id: str = PROJECT_ID
    user_id: str = USER_ID


@dataclass(frozen=True)
class HostSpec:
    name: str
    kind: str
    arch: str
    providers: Sequence[ProviderSpec]
    consumers: Sequence[ConsumerSpec] = ()
    emulates: Sequence[str] = ()  # guest arches the host runs under emulation

    @property
    def uuid(self) -> str:
        return self.providers[0].uuid


@dataclass(frozen=True)
class Fleet:
    seed: int
    hosts: Sequence[HostSpec]
    custom_resource_classes: Sequence[str] = CUSTOM_RESOURCE_CLASSES
    custom_traits: Sequence[str] = CUSTOM_TRAITS
    counts: Mapping[str, int] = field(default_factory=dict)

    def providers(self) -> list[ProviderSpec]:
        return [p for h in self.hosts for p in h.providers]

    def consumers(self) -> list[ConsumerSpec]:
        return [c for h in self.hosts for c in h.consumers]


def generate(hosts: int, seed: int = 0) -> Fleet:
    """The fleet of ``hosts`` hosts for ``seed`` (always the same one)."""
    rng = random.Random(f"virtfleet-bench-{seed}-{hosts}")  # noqa: S311 - data, not secrets
    kinds = _kinds(hosts, rng)
    built = [_BUILDERS[kind](f"host{i:05d}", rng) for i, kind in enumerate(kinds)]
    counts = {kind: kinds.count(kind) for kind in ("compute", "vgpu", "slice")}
    counts["used"] = sum(1 for h in built if h.consumers)
    return Fleet(seed=seed, hosts=built, counts=counts)


def _kinds(hosts: int, rng: random.Random) -> list[str]:
    kinds: list[str] = []
    for kind, share in KIND_SHARES.items():
        kinds.extend([kind] * round(hosts * share))
    kinds.extend(["compute"] * (hosts - len(kinds)))
    rng.shuffle(kinds)
    return kinds


def _fill(rng: random.Random) -> float:
    """0 for an unused host, else one of the fill levels."""
    return rng.choice(FILL_LEVELS) if rng.random() < USED_SHARE else 0.0


def _arch(rng: random.Random) -> tuple[str, list[str]]:
    arch, _weight, emulates = rng.choices(ARCH_MIX, weights=[w for _, w, _ in ARCH_MIX])[0]
    return arch, [guest for guest, odds in emulates.items() if rng.random() < odds]


def _arch_traits(arch: str, emulated: Sequence[str]) -> set[str]:
    traits = {f"HW_ARCH_{arch.upper()}", f"COMPUTE_ARCH_{arch.upper()}"}
    traits.update(f"COMPUTE_ARCH_{guest.upper()}" for guest in emulated)
    return traits


def _compute_inventory(rng: random.Random) -> dict[str, Inventory]:
    vcpus, memory_mb, disk_gb = rng.choice(HOST_SIZES)
    return {
        "VCPU": Inventory(total=vcpus, allocation_ratio=VCPU_RATIO),
        "MEMORY_MB": Inventory(total=memory_mb, reserved=MEMORY_RESERVED_MB),
        "DISK_GB": Inventory(total=disk_gb),
    }


def _guests_that_fit(inventories: Mapping[str, Inventory], guest: Mapping[str, int]) -> int:
    return min(inventories[rc].capacity // amount for rc, amount in guest.items())


def _consumer(name: str, allocations: Mapping[str, Mapping[str, int]]) -> ConsumerSpec:
    return ConsumerSpec(stable_uuid(name), allocations)


def _compute_host(name: str, rng: random.Random) -> HostSpec:
    arch, emulated = _arch(rng)
    traits = _arch_traits(arch, emulated)
    if arch == "x86_64":
        traits.update(t for t, odds in ADDRESS_SPACE_ODDS if rng.random() < odds)
    inventories = _compute_inventory(rng)
    root = ProviderSpec(host_uuid(name), name, None, inventories, frozenset(traits))
    guests = int(_fill(rng) * _guests_that_fit(inventories, FILL_GUEST))
    consumers = [_consumer(f"{name}-guest{g}", {root.uuid: FILL_GUEST}) for g in range(guests)]
    return HostSpec(name, "compute", arch, (root,), consumers, tuple(emulated))


def _vgpu_host(name: str, rng: random.Random) -> HostSpec:
    vgpu_type = rng.choice(VGPU_TYPES)
    inventories = _compute_inventory(rng)
    root_traits = frozenset(_arch_traits("x86_64", []))
    root = ProviderSpec(host_uuid(name), name, None, inventories, root_traits)
    gpus = [
        ProviderSpec(
            stable_uuid(f"{name}-gpu{g}"),
            f"{name}-gpu{g}",
            root.uuid,
            {"VGPU": Inventory(total=VGPUS_PER_GPU)},
            frozenset({vgpu_type}),
        )
        for g in range(2)
    ]
    guests = int(_fill(rng) * 2 * VGPUS_PER_GPU)
    guests = min(guests, _guests_that_fit(inventories, VGPU_GUEST))
    consumers = [
        _consumer(
            f"{name}-vgpu-guest{g}",
            {root.uuid: VGPU_GUEST, gpus[g % 2].uuid: {"VGPU": 1}},
        )
        for g in range(guests)
    ]
    return HostSpec(name, "vgpu", "x86_64", (root, *gpus), consumers)


def _slice_host(name: str, rng: random.Random) -> HostSpec:
    root = ProviderSpec(host_uuid(name), name, None, {}, frozenset(_arch_traits("x86_64", [])))

    def slice_rp(label: str, parent: ProviderSpec, rc: str) -> ProviderSpec:
        full = f"{name}-{label}"
        return ProviderSpec(stable_uuid(full), full, parent.uuid, {rc: Inventory(total=1)})

    s8 = slice_rp("s8", root, SLICE_8)
    s4 = [slice_rp(f"s4{a}", s8, SLICE_4) for a in "ab"]
    s1 = [[slice_rp(f"s1{a}{b}", s4[i], SLICE_1) for b in range(4)] for i, a in enumerate("ab")]
    providers = (root, s8, *s4, *s1[0], *s1[1])

    def taking(*rps: ProviderSpec) -> dict[str, dict[str, int]]:
        return {rp.uuid: {rc: 1 for rc in rp.inventories} for rp in rps}

    consumers: list[ConsumerSpec] = []
    if _fill(rng):
        pattern = rng.choices(SLICE_PATTERNS, weights=[w for _, w in SLICE_PATTERNS])[0][0]
        if pattern == "whole":
            consumers.append(_consumer(f"{name}-slice-guest0", taking(*providers[1:])))
        elif pattern == "half":
            half = rng.randrange(2)
            consumers.append(_consumer(f"{name}-slice-guest0", taking(s4[half], *s1[half])))
        else:
            ones = rng.sample([rp for row in s1 for rp in row], rng.randint(1, 3))
            consumers.extend(
                _consumer(f"{name}-slice-guest{i}", taking(rp)) for i, rp in enumerate(ones)
            )
    return HostSpec(name, "slice", "x86_64", providers, consumers)


_BUILDERS = {"compute": _compute_host, "vgpu": _vgpu_host, "slice": _slice_host}
