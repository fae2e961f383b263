"""Planning a reported provider tree: names, uuids, parents first, stale order."""

from __future__ import annotations

import pytest

from virtfleet import errors
from virtfleet.conductor import provider_tree as pt
from virtfleet.objects.host_report import (
    HostCPUInfo,
    HostReport,
    ReportedInventory,
    ReportedProvider,
)
from virtfleet.placement.types import Inventory, Provider

ROOT = "11111111-2222-3333-4444-555555555555"


def provider(name: str, parent: str | None, **inv: int) -> ReportedProvider:
    return ReportedProvider(
        name=name,
        uuid=None,
        parent_name=parent,
        inventories={rc: ReportedInventory(total=n, max_unit=n) for rc, n in inv.items()},
        traits={f"CUSTOM_{name.upper()}"},
    )


def report(*providers: ReportedProvider) -> HostReport:
    return HostReport(
        host="h1",
        hypervisor_hostname="h1",
        hypervisor_type="QEMU",
        hypervisor_version=1,
        vcpus=1,
        memory_mb=1,
        local_gb=1,
        cpu_info=HostCPUInfo(arch="x86_64", libvirt_version="9.0.0", qemu_version="8.2.0"),
        providers=list(providers),
    )


def test_plan_orders_parents_first_and_derives_names_and_uuids() -> None:
    planned = pt.plan_tree(
        report(
            provider("s1", "s4", CUSTOM_SLICE_1=1),
            provider("h1", None, VCPU=4),
            provider("s4", "h1", CUSTOM_SLICE_4=1),
        ),
        ROOT,
    )
    assert [p.name for p in planned] == ["h1", "h1_s4", "h1_s1"]
    root, s4, s1 = planned
    assert (root.uuid, root.parent_uuid) == (ROOT, None)
    assert s4.uuid == pt.child_uuid(ROOT, "s4") and s4.parent_uuid == ROOT
    assert s1.parent_uuid == s4.uuid
    assert root.inventories == {"VCPU": Inventory(total=4, max_unit=4)}
    assert s1.traits == frozenset({"CUSTOM_S1"})


def test_child_uuids_are_stable_and_explicit_ones_are_kept() -> None:
    assert pt.child_uuid(ROOT, "gpu0") == pt.child_uuid(ROOT, "gpu0")
    assert pt.child_uuid(ROOT, "gpu0") != pt.child_uuid(ROOT, "gpu1")
    explicit = provider("gpu0", "h1")
    explicit.uuid = "7d6c5a63-4b7e-4c80-a6d2-1e0a8f9b2c11"
    planned = pt.plan_tree(report(provider("h1", None), explicit), ROOT)
    assert planned[1].uuid == "7d6c5a63-4b7e-4c80-a6d2-1e0a8f9b2c11"


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        ((provider("a", "h1"),), "exactly one root provider, has 0"),
        ((provider("h1", None), provider("x", None)), "exactly one root provider, has 2"),
        ((provider("h1", None), provider("a", "h1"), provider("a", "h1")), "'a' appears twice"),
        ((provider("h1", None), provider("a", "ghost")), "'a' names unknown parent 'ghost'"),
        (
            (provider("h1", None), provider("a", "b"), provider("b", "a")),
            "providers a, b form a parent cycle",
        ),
    ],
)
def test_bad_trees_are_refused(providers: tuple[ReportedProvider, ...], message: str) -> None:
    with pytest.raises(errors.InvalidInput, match=message):
        pt.plan_tree(report(*providers), ROOT)


def test_stale_providers_deepest_first() -> None:
    root = Provider("r", "h1", 0, None, "r")
    a = Provider("a", "h1_a", 0, "r", "r")
    b = Provider("b", "h1_b", 0, "a", "r")
    c = Provider("c", "h1_c", 0, "r", "r")
    stale = pt.stale_providers([root, a, b, c], reported={"r", "c"})
    assert [p.uuid for p in stale] == ["b", "a"]
    assert pt.ancestors(b, {p.uuid: p for p in (root, a, b, c)}) == ["a", "r"]
