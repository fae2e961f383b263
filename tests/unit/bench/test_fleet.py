"""The generated fleet: deterministic, the right mix of hosts, sane allocations."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from virtfleet.bench import fleet as fleet_lib
from virtfleet.bench.fleet import SLICE_1, SLICE_4, SLICE_8, Fleet, generate


def test_same_seed_same_fleet_other_seed_other_fleet() -> None:
    assert generate(200, seed=3) == generate(200, seed=3)
    assert generate(200, seed=3) != generate(200, seed=4)


@pytest.mark.parametrize("hosts", [100, 1000])
def test_kind_mix_is_80_10_10_and_about_half_in_use(hosts: int) -> None:
    fleet = generate(hosts)
    assert fleet.counts["compute"] == hosts * 8 // 10
    assert fleet.counts["vgpu"] == fleet.counts["slice"] == hosts // 10
    assert Counter(h.kind for h in fleet.hosts) == {
        k: fleet.counts[k] for k in ("compute", "vgpu", "slice")
    }
    used = sum(1 for h in fleet.hosts if h.consumers)
    assert used == fleet.counts["used"]
    assert 0.4 * hosts <= used <= 0.6 * hosts


def test_compute_hosts_have_mixed_arch_and_some_address_space_traits() -> None:
    roots = [h.providers[0] for h in generate(1000).hosts if h.kind == "compute"]
    arches = Counter(t for r in roots for t in r.traits if t.startswith("HW_ARCH_"))
    assert set(arches) == {"HW_ARCH_X86_64", "HW_ARCH_AARCH64", "HW_ARCH_PPC64LE", "HW_ARCH_S390X"}
    assert all(sum(t.startswith("HW_ARCH_") for t in r.traits) == 1 for r in roots)
    emulating = [r for r in roots if "COMPUTE_ARCH_AARCH64" in r.traits]
    assert any("HW_ARCH_X86_64" in r.traits for r in emulating)
    spaces = [r for r in roots if "COMPUTE_ADDRESS_SPACE_EMULATED" in r.traits]
    assert 0 < len(spaces) < len(roots) / 2
    assert all("HW_ARCH_X86_64" in r.traits for r in spaces)
    assert all(set(r.inventories) == {"VCPU", "MEMORY_MB", "DISK_GB"} for r in roots)


def test_vgpu_hosts_have_two_gpu_children_with_a_type_trait() -> None:
    for host in (h for h in generate(100).hosts if h.kind == "vgpu"):
        root, *gpus = host.providers
        assert len(gpus) == 2
        assert all(g.parent_uuid == root.uuid for g in gpus)
        assert all(set(g.inventories) == {"VGPU"} for g in gpus)
        assert all(len(g.traits & set(fleet_lib.VGPU_TYPES)) == 1 for g in gpus)
        assert "VCPU" in root.inventories


def test_slice_hosts_are_the_8_4_4_1x8_tree() -> None:
    for host in (h for h in generate(100).hosts if h.kind == "slice"):
        root, *slices = host.providers
        assert root.inventories == {}
        by_uuid = {p.uuid: p for p in host.providers}
        classes = Counter(rc for p in slices for rc in p.inventories)
        assert classes == {SLICE_8: 1, SLICE_4: 2, SLICE_1: 8}
        for p in slices:
            (rc,) = p.inventories
            assert p.inventories[rc].total == 1
            assert p.parent_uuid is not None
            parent = by_uuid[p.parent_uuid]
            expected_parent = {SLICE_8: set(), SLICE_4: {SLICE_8}, SLICE_1: {SLICE_4}}[rc]
            assert set(parent.inventories) == expected_parent


def _usage(fleet: Fleet) -> dict[tuple[str, str], int]:
    used: dict[tuple[str, str], int] = defaultdict(int)
    for consumer in fleet.consumers():
        for rp, resources in consumer.allocations.items():
            for rc, amount in resources.items():
                used[(rp, rc)] += amount
    return used


def test_allocations_fit_capacity_and_max_unit() -> None:
    fleet = generate(1000)
    providers = {p.uuid: p for p in fleet.providers()}
    for consumer in fleet.consumers():
        for rp, resources in consumer.allocations.items():
            for rc, amount in resources.items():
                assert amount <= providers[rp].inventories[rc].max_unit
    for (rp, rc), used in _usage(fleet).items():
        assert used <= providers[rp].inventories[rc].capacity


def test_a_used_slice_takes_every_slice_below_it() -> None:
    fleet = generate(1000)
    providers = {p.uuid: p for p in fleet.providers()}
    children: dict[str, list[str]] = defaultdict(list)
    for p in providers.values():
        if p.parent_uuid:
            children[p.parent_uuid].append(p.uuid)
    slice_consumers = [
        c
        for c in fleet.consumers()
        if any(rc.startswith("CUSTOM_SLICE") for r in c.allocations.values() for rc in r)
    ]
    assert slice_consumers
    for consumer in slice_consumers:
        for rp in consumer.allocations:
            assert set(children[rp]) <= set(consumer.allocations)
