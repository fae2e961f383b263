"""Host reports against the real PlacementService on SQLite: providers, inventories,
traits, nested providers, stale removal, and the compute node row."""

from __future__ import annotations

import pytest

from virtfleet import errors
from virtfleet.conductor.host_reports import HostReporter, retry_on_conflict
from virtfleet.conductor.provider_tree import child_uuid
from virtfleet.db import hosts
from virtfleet.db.engine import Database
from virtfleet.objects.host_report import (
    HostCPUInfo,
    HostReport,
    ReportedInventory,
    ReportedProvider,
)
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory


def inv(total: int, **kw: object) -> ReportedInventory:
    fields: dict[str, object] = dict(
        total=total, reserved=0, min_unit=1, max_unit=total, step_size=1, allocation_ratio=1.0
    )
    fields.update(kw)
    return ReportedInventory(**fields)


def make_report(
    host: str = "kvm-1",
    traits: set[str] | None = None,
    vcpus: int = 16,
    children: list[ReportedProvider] | None = None,
) -> HostReport:
    root = ReportedProvider(
        name=host,
        parent_name=None,
        inventories={
            "VCPU": inv(vcpus, allocation_ratio=4.0, reserved=1),
            "MEMORY_MB": inv(32768, reserved=512),
            "DISK_GB": inv(100),
        },
        traits=traits if traits is not None else {"HW_ARCH_X86_64", "COMPUTE_ARCH_X86_64"},
    )
    return HostReport(
        host=host,
        hypervisor_hostname=f"{host}.example",
        hypervisor_type="QEMU",
        hypervisor_version=8_002_000,
        vcpus=vcpus,
        memory_mb=32768,
        local_gb=100,
        cpu_info=HostCPUInfo(
            arch="x86_64",
            native_arches=["x86_64"],
            emulated_arches=["aarch64"],
            maxphysaddr_bits=46,
            cpu_mode="host-model",
            libvirt_version="9.0.0",
            qemu_version="8.2.0",
            machine_types={"x86_64": ["q35"]},
        ),
        providers=[root, *(children or [])],
    )


def slice_child(name: str, parent: str | None, rc: str) -> ReportedProvider:
    return ReportedProvider(
        name=name, parent_name=parent, inventories={rc: inv(1)}, traits={"CUSTOM_SLICE"}
    )


@pytest.fixture
def placement(db: Database) -> PlacementService:
    return PlacementService(db)


@pytest.fixture
def reporter(db: Database, placement: PlacementService) -> HostReporter:
    return HostReporter(db, placement)


def test_first_report_creates_node_provider_inventories_traits(
    db: Database, placement: PlacementService, reporter: HostReporter
) -> None:
    outcome = reporter.report_host(make_report())
    root = hosts.host_uuid("kvm-1")
    assert outcome.host.uuid == root
    assert outcome.warnings == ()
    assert outcome.as_receipt().uuid == root
    provider = placement.get_provider(root)
    assert (provider.name, provider.parent_uuid, provider.root_uuid) == ("kvm-1", None, root)
    _, inventories = placement.get_inventories(root)
    assert inventories["VCPU"] == Inventory(total=16, reserved=1, allocation_ratio=4.0)
    assert inventories["MEMORY_MB"] == Inventory(total=32768, reserved=512)
    assert inventories["DISK_GB"] == Inventory(total=100)
    assert placement.get_provider_traits(root)[1] == {"HW_ARCH_X86_64", "COMPUTE_ARCH_X86_64"}
    record = hosts.get_host_by_name(db, "kvm-1")
    assert record.cpu_info["emulated_arches"] == ["aarch64"]
    assert record.cpu_info["maxphysaddr_bits"] == 46
    assert record.cpu_info["machine_types"] == {"x86_64": ["q35"]}
    assert (record.hypervisor_hostname, record.vcpus) == ("kvm-1.example", 16)


def test_unchanged_report_writes_nothing(
    placement: PlacementService, reporter: HostReporter
) -> None:
    reporter.report_host(make_report())
    generation = placement.get_provider(hosts.host_uuid("kvm-1")).generation
    reporter.report_host(make_report())
    assert placement.get_provider(hosts.host_uuid("kvm-1")).generation == generation


def test_changed_report_updates_inventory_and_removes_stale_traits(
    placement: PlacementService, reporter: HostReporter
) -> None:
    reporter.report_host(make_report(traits={"HW_ARCH_X86_64", "COMPUTE_ARCH_AARCH64"}))
    reporter.report_host(make_report(traits={"HW_ARCH_X86_64", "CUSTOM_GOLD"}, vcpus=32))
    root = hosts.host_uuid("kvm-1")
    assert placement.get_provider_traits(root)[1] == {"HW_ARCH_X86_64", "CUSTOM_GOLD"}
    assert placement.get_inventories(root)[1]["VCPU"].total == 32


def test_operator_traits_survive_reports_and_the_agent_owns_only_its_own(
    placement: PlacementService, reporter: HostReporter
) -> None:
    reporter.report_host(make_report(traits={"HW_ARCH_X86_64", "COMPUTE_ARCH_AARCH64"}))
    root = hosts.host_uuid("kvm-1")
    placement.ensure_trait("CUSTOM_RACK_7")
    generation, _ = placement.get_provider_traits(root)
    placement.set_provider_traits(  # the operator adds one and removes a reported one
        root, generation, ["HW_ARCH_X86_64", "CUSTOM_RACK_7", "COMPUTE_STATUS_DISABLED"]
    )
    reporter.report_host(make_report(traits={"HW_ARCH_X86_64", "COMPUTE_ARCH_AARCH64"}))
    assert placement.get_provider_traits(root)[1] == {
        "HW_ARCH_X86_64",
        "COMPUTE_ARCH_AARCH64",  # reported again: the agent's
        "CUSTOM_RACK_7",
        "COMPUTE_STATUS_DISABLED",
    }
    # A trait the agent stops reporting goes; the operator's stay.
    reporter.report_host(make_report(traits={"HW_ARCH_X86_64"}))
    assert placement.get_provider_traits(root)[1] == {
        "HW_ARCH_X86_64",
        "CUSTOM_RACK_7",
        "COMPUTE_STATUS_DISABLED",
    }
    generation = placement.get_provider(root).generation
    reporter.report_host(make_report(traits={"HW_ARCH_X86_64"}))
    assert placement.get_provider(root).generation == generation  # nothing written


def test_unknown_standard_trait_is_refused(reporter: HostReporter) -> None:
    with pytest.raises(errors.InvalidInput, match="COMPUTE_NOT_A_TRAIT"):
        reporter.report_host(make_report(traits={"COMPUTE_NOT_A_TRAIT"}))


def test_nested_providers_are_created_updated_and_removed(
    placement: PlacementService, reporter: HostReporter
) -> None:
    root = hosts.host_uuid("s1")
    tree = [
        slice_child("slice8", "s1", "CUSTOM_SLICE_8"),
        slice_child("slice4a", "slice8", "CUSTOM_SLICE_4"),
        slice_child("slice4b", "slice8", "CUSTOM_SLICE_4"),
    ]
    reporter.report_host(make_report("s1", children=tree))
    by_name = {p.name: p for p in placement.list_providers(in_tree=root)}
    assert set(by_name) == {"s1", "s1_slice8", "s1_slice4a", "s1_slice4b"}
    assert by_name["s1_slice8"].parent_uuid == root
    assert by_name["s1_slice4a"].parent_uuid == child_uuid(root, "slice8")
    assert placement.get_inventories(child_uuid(root, "slice4a"))[1] == {
        "CUSTOM_SLICE_4": Inventory(total=1)
    }
    assert placement.get_provider_traits(child_uuid(root, "slice4a"))[1] == {"CUSTOM_SLICE"}

    # slice4b disappears, slice4a moves under the root
    reporter.report_host(
        make_report(
            "s1",
            children=[
                slice_child("slice8", "s1", "CUSTOM_SLICE_8"),
                slice_child("slice4a", "s1", "CUSTOM_SLICE_4"),
            ],
        )
    )
    by_name = {p.name: p for p in placement.list_providers(in_tree=root)}
    assert set(by_name) == {"s1", "s1_slice8", "s1_slice4a"}
    assert by_name["s1_slice4a"].parent_uuid == root


def test_provider_with_allocations_is_not_removed(
    placement: PlacementService, reporter: HostReporter
) -> None:
    root = hosts.host_uuid("s1")
    tree = [
        slice_child("slice8", "s1", "CUSTOM_SLICE_8"),
        slice_child("slice1", "slice8", "CUSTOM_SLICE_1"),
    ]
    reporter.report_host(make_report("s1", children=tree))
    slice1 = child_uuid(root, "slice1")
    placement.replace_allocations(
        "0f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44",
        {slice1: {"CUSTOM_SLICE_1": 1}},
        project_id="p",
        user_id="u",
        consumer_generation=None,
    )
    outcome = reporter.report_host(make_report("s1"))
    assert len(outcome.warnings) == 1
    assert "s1_slice1" in outcome.warnings[0]
    assert "still has allocations (CUSTOM_SLICE_1=1); not removing it" in outcome.warnings[0]
    # the allocated slice and its parent stay; the rest of the report applied
    names = {p.name for p in placement.list_providers(in_tree=root)}
    assert names == {"s1", "s1_slice8", "s1_slice1"}
    # once free, the next report removes both
    placement.delete_allocations("0f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44")
    assert reporter.report_host(make_report("s1")).warnings == ()
    assert {p.name for p in placement.list_providers(in_tree=root)} == {"s1"}


def test_shrinking_below_usage_reports_the_host_as_it_is_and_keeps_the_allocations(
    placement: PlacementService, reporter: HostReporter
) -> None:
    """Placement (as its reference) takes an inventory lowered below what is allocated:
    the report applies whole, the allocation stays, and nothing more fits."""
    reporter.report_host(make_report(vcpus=16))
    root = hosts.host_uuid("kvm-1")
    placement.replace_allocations(
        "0f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44",
        {root: {"VCPU": 16}},
        project_id="p",
        user_id="u",
        consumer_generation=None,
    )
    outcome = reporter.report_host(make_report(vcpus=4, traits={"CUSTOM_NEW"}))
    assert outcome.warnings == ()
    assert placement.get_inventories(root)[1]["VCPU"].total == 4
    assert placement.get_provider_traits(root)[1] == {"CUSTOM_NEW"}
    assert placement.provider_usages(root)[1]["VCPU"] == 16
    with pytest.raises(errors.Conflict):
        placement.replace_allocations(
            "5c1d0c0e-7a43-4f7e-8d0e-2f1a8d7c9b10",
            {root: {"VCPU": 1}},
            project_id="p",
            user_id="u",
            consumer_generation=None,
        )


def test_bad_tree_is_refused_before_anything_is_written(
    db: Database, placement: PlacementService, reporter: HostReporter
) -> None:
    report = make_report(children=[slice_child("orphan", "ghost", "CUSTOM_X")])
    with pytest.raises(errors.InvalidInput, match="unknown parent 'ghost'"):
        reporter.report_host(report)
    assert hosts.list_hosts(db) == []
    assert placement.list_providers() == []


def test_retry_on_conflict_retries_then_gives_up() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise errors.ConcurrentUpdate("generation mismatch")
        return "ok"

    assert retry_on_conflict(flaky, "testing") == "ok"
    assert len(calls) == 3

    def always() -> None:
        raise errors.ConcurrentUpdate("generation mismatch")

    with pytest.raises(errors.ConcurrentUpdate, match="testing: still conflicting after 4"):
        retry_on_conflict(always, "testing", attempts=4)


def test_upsert_host_takes_cpu_info_from_a_host_report(db: Database) -> None:
    record = hosts.upsert_host(db, make_report())
    assert record.cpu_info["arch"] == "x86_64"
    assert record.cpu_info["machine_types"] == {"x86_64": ["q35"]}
    assert hosts.upsert_host(db, make_report(), {"arch": "other"}).cpu_info == {"arch": "other"}
