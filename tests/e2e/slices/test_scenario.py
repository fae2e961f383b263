"""The issue's scenario on the simulated 8/4/4/1x8 host, end to end without HTTP:
flavors ask for one slice, the claim takes the slice and every slice below it, the
guest is the rendered template, deletes free exactly what was taken."""

from __future__ import annotations

import threading
import uuid as uuid_lib

import pytest
from lxml import etree

from support.slice_cloud import HOST, SLICE_1, SLICE_4, SLICE_8, SliceCloud
from virtfleet import errors
from virtfleet.db import servers
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

HALF_0 = {"slice-4-0", *(f"slice-1-{i}" for i in range(4))}
HALF_1 = {"slice-4-1", *(f"slice-1-{i}" for i in range(4, 8))}


def active(server: servers.Server) -> servers.Server:
    assert server.vm_state == "active", server.fault
    assert server.host == HOST
    return server


def refused(server: servers.Server) -> str:
    assert server.vm_state == "error"
    assert server.fault is not None
    return str(server.fault["message"])


def pins(cloud: SliceCloud, uuid: str) -> tuple[list[str], list[str]]:
    root = etree.fromstring(cloud.driver.get_domain_xml(uuid).encode())
    cpus = [p.get("cpuset", "") for p in root.findall("cputune/vcpupin")]
    buses = [a.get("bus", "") for a in root.findall("devices/hostdev/source/address")]
    return cpus, buses


def test_the_host_reports_slices_and_no_vcpu_memory_or_disk(cloud: SliceCloud) -> None:
    report = cloud.agent.last_report
    assert report is not None
    assert report.root.inventories == {}
    children = {p.name: (p.parent_name, set(p.inventories)) for p in report.providers[1:]}
    assert children["slice-8"] == (HOST, {SLICE_8})
    assert children["slice-4-0"] == ("slice-8", {SLICE_4})
    assert children["slice-1-6"] == ("slice-4-1", {SLICE_1})
    assert len(children) == 11


def test_the_issue_scenario(cloud: SliceCloud) -> None:
    first = active(cloud.boot_slice(SLICE_1))
    assert cloud.taken(first.uuid) == {"slice-1-0"}
    assert pins(cloud, first.uuid) == ([str(cpu) for cpu in range(4, 11)], ["0x1a"])

    # The 1-GPU guest blocks the 8-slice and its own 4-slice ...
    assert "overlap a slice in use" in refused(cloud.boot_slice(SLICE_8))
    # ... so a 4-GPU guest takes the other half, with every eighth below it.
    half = active(cloud.boot_slice(SLICE_4))
    assert cloud.taken(half.uuid) == HALF_1
    cpus, buses = pins(cloud, half.uuid)
    assert cpus == [str(cpu) for cpu in range(36, 64)]
    assert buses == ["0x88", "0x89", "0xb1", "0xb2"]

    # Three more 1-GPU guests fill the remaining eighths.
    eighths = [active(cloud.boot_slice(SLICE_1)) for _ in range(3)]
    assert [cloud.taken(s.uuid) for s in eighths] == [{f"slice-1-{i}"} for i in (1, 2, 3)]
    assert cloud.used_slices() == HALF_0 - {"slice-4-0"} | HALF_1

    # Now every request fails with a reason that names the slice class.
    assert refused(cloud.boot_slice(SLICE_1)) == (
        f"No valid host for 1 {SLICE_1}: 1 of 1 hosts lack capacity ({SLICE_1})"
    )
    for resource_class in (SLICE_4, SLICE_8):
        assert refused(cloud.boot_slice(resource_class)) == (
            f"No valid host for 1 {resource_class}: 1 of 1 hosts offer only {resource_class} "
            "slices that overlap a slice in use"
        )
    assert cloud.used_slices() == HALF_0 - {"slice-4-0"} | HALF_1  # the refusals took nothing

    # Deletes free exactly what was taken.
    cloud.delete(eighths[1].uuid)
    assert cloud.used_slices() == HALF_0 - {"slice-4-0", "slice-1-2"} | HALF_1
    eighths[1] = active(cloud.boot_slice(SLICE_1))
    assert cloud.taken(eighths[1].uuid) == {"slice-1-2"}
    cloud.delete(half.uuid)
    assert cloud.used_slices() == {f"slice-1-{i}" for i in range(4)}
    again = active(cloud.boot_slice(SLICE_4))
    assert cloud.taken(again.uuid) == HALF_1
    for server in (first, *eighths, again):
        cloud.delete(server.uuid)
    assert cloud.used_slices() == set()
    assert cloud.driver.list_instance_uuids() == []
    whole = active(cloud.boot_slice(SLICE_8))
    assert cloud.taken(whole.uuid) == {"slice-8"} | HALF_0 | HALF_1


def test_the_explicit_form_yields_the_same_allocation(cloud: SliceCloud) -> None:
    short = active(cloud.boot_slice(SLICE_4))
    explicit = active(cloud.boot({f"resources:{SLICE_4}": "1", f"resources:{SLICE_1}": "4"}))
    assert cloud.taken(short.uuid) == HALF_0
    assert cloud.taken(explicit.uuid) == HALF_1
    allocations = cloud.placement.get_consumer_allocations(explicit.uuid).allocations
    taken = sorted(rc for a in allocations.values() for rc in a.resources)
    assert taken == [SLICE_1] * 4 + [SLICE_4]


def test_an_explicit_form_of_another_shape_finds_no_slice(cloud: SliceCloud) -> None:
    wrong = cloud.boot({f"resources:{SLICE_4}": "1", f"resources:{SLICE_1}": "3"})
    assert refused(wrong).startswith("No valid host")
    assert cloud.used_slices() == set()


def test_slices_pack_into_the_most_used_tree(cloud: SliceCloud) -> None:
    guests = [active(cloud.boot_slice(SLICE_1)) for _ in range(6)]
    assert [cloud.taken(g.uuid) for g in guests] == [{f"slice-1-{i}"} for i in range(6)]
    for guest in guests[1:4]:  # half 0 keeps one guest, half 1 has two
        cloud.delete(guest.uuid)
    packed = active(cloud.boot_slice(SLICE_1))
    assert cloud.taken(packed.uuid) == {"slice-1-6"}
    # a 4-slice is still free because the eighths packed
    assert cloud.taken(active(cloud.boot_slice(SLICE_1)).uuid) == {"slice-1-7"}
    assert cloud.taken(active(cloud.boot_slice(SLICE_1)).uuid) == {"slice-1-1"}


@pytest.mark.parametrize(
    "mix",
    [
        [SLICE_1] * 11,
        [SLICE_8, SLICE_4, SLICE_4, SLICE_1, SLICE_1, SLICE_1, SLICE_1, SLICE_1],
    ],
)
def test_concurrent_boots_never_share_a_slice(cloud: SliceCloud, mix: list[str]) -> None:
    uuids = [cloud.create_server({f"resources:{rc}": "1"}) for rc in mix]
    for uuid in uuids:
        cloud.conductor.build_server(uuid)
    cloud.conductor.drain(60)
    booted = [s for s in (servers.get(cloud.db, u) for u in uuids) if s.vm_state == "active"]
    assert booted
    held: set[str] = set()
    for server in booted:
        taken = cloud.taken(server.uuid)
        assert taken and not taken & held, f"{server.uuid} shares {taken & held}"
        held |= taken
    if mix == [SLICE_1] * 11:
        assert len(booted) == 8
    # whatever was refused says why and holds nothing
    for uuid in set(uuids) - {s.uuid for s in booted}:
        assert refused(servers.get(cloud.db, uuid)).startswith("No valid host")
        assert cloud.taken(uuid) == set()
    assert sorted(cloud.driver.list_instance_uuids()) == sorted(s.uuid for s in booted)


INJECTIONS = [
    "x</name><uuid>00000000-0000-0000-0000-000000000000</uuid><name>y",
    "evil' type='qemu",
    "]]><devices><hostdev mode='subsystem' type='pci'/></devices><!--",
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;',
]


def test_xml_injection_through_name_or_metadata_cannot_change_the_domain(
    cloud: SliceCloud,
) -> None:
    plain = active(cloud.boot({f"resources:{SLICE_1}": "1"}, "plain"))
    plain_root = etree.fromstring(cloud.driver.get_domain_xml(plain.uuid).encode())
    ns = {"vf": "http://virtfleet.dev/xmlns/instance/1.0"}
    for crafted in INJECTIONS:
        evil = active(cloud.boot({f"resources:{SLICE_1}": "1"}, crafted, {"note": crafted}))
        evil_root = etree.fromstring(cloud.driver.get_domain_xml(evil.uuid).encode())
        assert evil_root.findtext("name") == f"vf-{evil.uuid}"
        assert evil_root.findtext("uuid") == evil.uuid
        assert evil_root.get("type") == "kvm"
        assert [c.tag for c in evil_root] == [c.tag for c in plain_root]
        assert len(evil_root.findall("devices/hostdev")) == 1
        assert evil_root.findtext("metadata/vf:instance/vf:name", namespaces=ns) == crafted
        assert evil_root.findtext("metadata/vf:instance/vf:meta", namespaces=ns) == crafted


@pytest.mark.parametrize("sizes", [[SLICE_1] * 12, [SLICE_4, SLICE_1, SLICE_8, SLICE_4] * 3])
def test_racing_claims_in_the_scheduler_never_overlap(cloud: SliceCloud, sizes: list[str]) -> None:
    """Claims released at the same instant from many threads: each winner holds slices
    no other winner holds, and every loser is told there is no valid host."""
    barrier = threading.Barrier(len(sizes))
    outcomes: dict[str, str] = {}

    def claim(index: int, resource_class: str) -> None:
        uuid = str(uuid_lib.UUID(int=index + 1))
        spec = RequestSpec(
            uuid, "project", "user",
            FlavorSpec(vcpus=0, memory_mb=0, extra_specs={f"resources:{resource_class}": "1"}),
        )  # fmt: skip
        barrier.wait()
        try:
            cloud.scheduler.schedule_and_claim(spec)
            outcomes[uuid] = "claimed"
        except errors.NoValidHost:
            outcomes[uuid] = "refused"

    threads = [threading.Thread(target=claim, args=pair) for pair in enumerate(sizes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == len(sizes)
    held: set[str] = set()
    for uuid, outcome in outcomes.items():
        taken = cloud.taken(uuid)
        if outcome == "refused":
            assert taken == set()
            continue
        assert taken and not taken & held, f"{uuid} shares {taken & held}"
        held |= taken
    if sizes == [SLICE_1] * 12:
        assert sorted(outcomes.values()).count("claimed") == 8
