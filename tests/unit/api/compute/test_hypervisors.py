"""os-hypervisors: compute nodes with usage from placement, per microversion."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from support.api_apps import Apps
from virtfleet.db import hosts, servers
from virtfleet.objects.guest_request import GuestRequest


@dataclass
class Report:
    host: str
    hypervisor_hostname: str
    hypervisor_type: str = "QEMU"
    hypervisor_version: int = 8002000
    vcpus: int = 8
    memory_mb: int = 16384
    local_gb: int = 200


@pytest.fixture
def fleet(apps: Apps) -> Apps:
    a = hosts.upsert_host(apps.db, Report("kvm-a", "kvm-a.example"), {"arch": "x86_64"})
    hosts.upsert_host(apps.db, Report("kvm-b", "kvm-b.example", vcpus=4))
    hosts.set_status(apps.db, "kvm-b", "disabled", "maintenance")
    apps.placement.usages[a.uuid] = {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 5}
    s = servers.create(
        apps.db,
        guest_request=GuestRequest(),
        name="vm",
        flavor={},
        image_ref="i",
        image={},
        project_id="p",
        user_id="u",
    )
    servers.update(apps.db, s.uuid, host="kvm-a", vm_state="active", task_state=None)
    return apps


def test_list_uses_uuids_from_2_53(fleet: Apps) -> None:
    listed = fleet.compute().get("/v2.1/os-hypervisors").json["hypervisors"]
    assert [h["hypervisor_hostname"] for h in listed] == ["kvm-a.example", "kvm-b.example"]
    assert listed[0]["id"] == hosts.host_uuid("kvm-a")
    assert listed[1]["status"] == "disabled" and listed[1]["state"] == "up"
    old = fleet.compute("2.52").get("/v2.1/os-hypervisors").json["hypervisors"]
    assert isinstance(old[0]["id"], int)


def test_detail_before_2_88_has_usage_from_placement(fleet: Apps) -> None:
    detail = fleet.compute("2.87").get("/v2.1/os-hypervisors/detail").json["hypervisors"]
    a = detail[0]
    assert a["vcpus"] == 8 and a["vcpus_used"] == 2
    assert a["memory_mb_used"] == 1024 and a["free_ram_mb"] == 16384 - 1024
    assert a["local_gb_used"] == 5 and a["free_disk_gb"] == 195
    assert a["running_vms"] == 1
    assert a["cpu_info"] == {"arch": "x86_64"}
    assert a["service"]["host"] == "kvm-a"
    assert detail[1]["vcpus_used"] == 0 and detail[1]["service"]["disabled_reason"] == "maintenance"
    legacy = fleet.compute("2.27").get("/v2.1/os-hypervisors/detail").json["hypervisors"]
    assert legacy[0]["cpu_info"] == '{"arch": "x86_64"}'


def test_detail_from_2_88_drops_usage(fleet: Apps) -> None:
    detail = fleet.compute().get("/v2.1/os-hypervisors/detail").json["hypervisors"][0]
    assert "vcpus" not in detail and "cpu_info" not in detail
    assert detail["hypervisor_type"] == "QEMU"


def test_show_by_uuid_or_integer_id(fleet: Apps) -> None:
    uuid = hosts.host_uuid("kvm-a")
    shown = fleet.compute().get(f"/v2.1/os-hypervisors/{uuid}").json["hypervisor"]
    assert shown["hypervisor_hostname"] == "kvm-a.example" and "uptime" in shown
    record = hosts.get_host_by_name(fleet.db, "kvm-a")
    old = fleet.compute("2.1").get(f"/v2.1/os-hypervisors/{record.id}")
    assert old.status == 200 and old.json["hypervisor"]["vcpus"] == 8
    assert fleet.compute("2.1").get("/v2.1/os-hypervisors/abc").status == 400
    missing = fleet.compute().get("/v2.1/os-hypervisors/00000000-0000-0000-0000-000000000000")
    assert missing.status == 404 and "itemNotFound" in missing.json


def test_hostname_pattern_and_admin_only(fleet: Apps) -> None:
    c = fleet.compute()
    found = c.get("/v2.1/os-hypervisors?hypervisor_hostname_pattern=kvm-b").json["hypervisors"]
    assert [h["hypervisor_hostname"] for h in found] == ["kvm-b.example"]
    assert c.get("/v2.1/os-hypervisors", headers={"X-Roles": "member"}).status == 403


def test_uptime_is_not_implemented_before_2_88(fleet: Apps) -> None:
    """``openstack hypervisor show`` at 2.1 asks for it and takes 501 as "unknown"."""
    record = hosts.get_host_by_name(fleet.db, "kvm-a")
    uptime = fleet.compute("2.1").get(f"/v2.1/os-hypervisors/{record.id}/uptime")
    assert uptime.status == 501
    assert uptime.json["notImplemented"]["message"] == (
        "Hypervisor kvm-a.example does not report its uptime."
    )
    assert fleet.compute("2.1").get("/v2.1/os-hypervisors/99/uptime").status == 404
    removed = fleet.compute().get(f"/v2.1/os-hypervisors/{hosts.host_uuid('kvm-a')}/uptime")
    assert removed.status == 404
    member = fleet.compute("2.1").get(
        f"/v2.1/os-hypervisors/{record.id}/uptime", headers={"X-Roles": "member"}
    )
    assert member.status == 403


def test_paging_from_2_33(fleet: Apps) -> None:
    c = fleet.compute()
    first = c.get("/v2.1/os-hypervisors?limit=1").json["hypervisors"]
    assert [h["hypervisor_hostname"] for h in first] == ["kvm-a.example"]
    rest = c.get(f"/v2.1/os-hypervisors?marker={first[0]['id']}").json["hypervisors"]
    assert [h["hypervisor_hostname"] for h in rest] == ["kvm-b.example"]
    assert c.get("/v2.1/os-hypervisors?marker=nope").status == 400
    mixed = c.get("/v2.1/os-hypervisors?limit=1&hypervisor_hostname_pattern=kvm")
    assert (
        mixed.status == 400 and "hypervisor_hostname_pattern" in mixed.json["badRequest"]["message"]
    )
    # before 2.33 paging parameters are ignored
    old = fleet.compute("2.32").get("/v2.1/os-hypervisors?limit=1").json["hypervisors"]
    assert len(old) == 2
    # 2.75: with_servers shows an empty list for a host without servers
    listed = c.get("/v2.1/os-hypervisors?with_servers=true").json["hypervisors"]
    assert [h.get("servers") == [] for h in listed] == [False, True]
