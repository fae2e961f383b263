"""Rescue and unrescue on simulated hosts: through the real ``openstack`` CLI (the
guest's domain booted from the rescue disk first with its own disk second, its own
definition back after unrescue, the placement usage unchanged throughout, a delete
while rescued leaving nothing), and through the Compute API for each failure on the
way (the server back where it was, the reason in ``server event show``, no rescue
disk or kept definition left on the host)."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest
from lxml import etree

from virtfleet import errors
from virtfleet.cli.apiclient import APIError
from virtfleet.conductor.manager import Conductor
from virtfleet.virt.libvirt import rescue
from virtfleet.virt.sim.errors import libvirt_error

from .conftest import SMALL, ZERO, Day2Cloud
from .test_evacuate_rebuild_cli import host_down, own_instances_path
from .test_moves_cli import (
    act,
    api,
    boot_api,
    delete_api,
    domains,
    event_detail,
    flavor_id,
    other,
    wait_api,
)


@pytest.fixture(scope="module")
def cloud(day2: Day2Cloud) -> Day2Cloud:
    day2.view.client.create_image("day2-rescue", b"\5" * 65536, {"hw_architecture": "x86_64"})
    return day2


@pytest.fixture
def conductor(cloud: Day2Cloud) -> Iterator[Conductor]:
    conductor = cloud.view.control.conductor
    yield conductor
    conductor.drain(timeout=30)


def image_id(cloud: Day2Cloud, name: str) -> str:
    found = cloud.view.client.request("GET", f"/image/v2/images?name={name}")["images"]
    return str(found[0]["id"])


def domain(cloud: Day2Cloud, host: str, uuid: str) -> Any:
    return cloud.view.agent(host).driver.connection.lookupByUUIDString(uuid)


def definition(cloud: Day2Cloud, host: str, uuid: str) -> str:
    return str(domain(cloud, host, uuid).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))


def instance_dir(cloud: Day2Cloud, host: str, uuid: str) -> str:
    return cloud.view.agent(host).driver.instance_dir(uuid)


def rescue_files(cloud: Day2Cloud, host: str, uuid: str) -> list[str]:
    where = instance_dir(cloud, host, uuid)
    return [n for n in (rescue.RESCUE_DISK, rescue.UNRESCUE_XML) if os.path.exists(f"{where}/{n}")]


def test_rescue_and_unrescue_through_the_cli(cloud: Day2Cloud) -> None:
    server = boot_api(cloud, "vm-rescue")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    expected = {host: SMALL, other(host): ZERO}
    before = definition(cloud, host, uuid)
    [(root_dev, root_disk)] = rescue.disk_sources(before)
    assert root_dev == "vda"

    cloud.run("server", "rescue", "vm-rescue")
    shown = cloud.wait("vm-rescue", lambda s: s["status"] == "RESCUE")
    assert shown["OS-EXT-STS:vm_state"] == "rescued" and shown["OS-EXT-STS:power_state"] == 1
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}
    live = cloud.view.agent(host).driver.get_domain_xml(uuid)
    where = instance_dir(cloud, host, uuid)
    assert rescue.disk_sources(live) == [
        ("vda", f"{where}/{rescue.RESCUE_DISK}"),
        ("vdb", root_disk),
    ]
    assert '<boot order="1"/>' in live.replace("'", '"')
    assert cloud.usages() == expected  # the allocation does not change
    assert image_id(cloud, "day2-image") in cloud.view.agent(host).images.users()[uuid]
    assert cloud.run("console", "log", "show", "vm-rescue").returncode == 0  # the rescue's

    cloud.run("server", "unrescue", "vm-rescue")
    shown = cloud.wait("vm-rescue", lambda s: s["status"] == "ACTIVE")
    assert definition(cloud, host, uuid) == before  # exactly as it was
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}
    assert rescue_files(cloud, host, uuid) == []
    assert cloud.usages() == expected

    listed = cloud.events("vm-rescue")
    assert [e["Action"] for e in listed] == ["unrescue", "rescue", "create"]
    for entry, step in zip(
        listed[:2], ("compute_unrescue_instance", "compute_rescue_instance"), strict=True
    ):
        shown = cloud.event("vm-rescue", entry["Request ID"])
        assert [(e["event"], e["result"], e["host"]) for e in shown["events"]] == [
            (step, "Success", host)
        ]
    cloud.run("server", "delete", "--wait", "vm-rescue")
    assert cloud.usages() == {host: ZERO, other(host): ZERO}


def test_a_stopped_server_rescued_with_another_image_then_deleted_leaves_nothing(
    cloud: Day2Cloud,
) -> None:
    server = boot_api(cloud, "vm-rescue-img")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    cloud.run("server", "stop", "vm-rescue-img")
    cloud.wait("vm-rescue-img", lambda s: s["status"] == "SHUTOFF")
    cloud.run(
        "server", "rescue", "--image", "day2-rescue", "--password", "r3scue-me", "vm-rescue-img"
    )
    cloud.wait("vm-rescue-img", lambda s: s["status"] == "RESCUE")
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}  # a rescue boots it
    where = instance_dir(cloud, host, uuid)
    assert sorted(rescue_files(cloud, host, uuid)) == sorted(
        [rescue.RESCUE_DISK, rescue.UNRESCUE_XML]
    )
    assert image_id(cloud, "day2-rescue") in cloud.view.agent(host).images.users()[uuid]
    result = cloud.run("server", "rescue", "vm-rescue-img", check=False)
    assert result.returncode != 0 and "vm_state rescued" in result.stderr

    cloud.run("server", "delete", "--wait", "vm-rescue-img")
    assert domains(cloud, uuid) == {}
    assert not os.path.exists(where)  # the rescue disk and kept definition went with it
    assert uuid not in cloud.view.agent(host).images.users()
    assert cloud.usages() == {host: ZERO, other(host): ZERO}


def test_refused_requests_name_what_is_wrong(cloud: Day2Cloud) -> None:
    server = boot_api(cloud, "vm-rescue-refused")
    uuid = server["id"]
    result = cloud.run("server", "unrescue", "vm-rescue-refused", check=False)
    assert result.returncode != 0
    assert f"Cannot 'unrescue' instance {uuid} while it is in vm_state active" in result.stderr
    missing = "33333333-3333-3333-3333-333333333333"
    with pytest.raises(APIError) as caught:
        act(cloud, uuid, {"rescue": {"rescue_image_ref": missing}})
    assert caught.value.status == 400
    assert f"Rescue image {missing} could not be found (rescue_image_ref)." in str(caught.value)
    arm = cloud.view.client.create_image(
        "day2-rescue-arm", b"\7" * 1024, {"hw_architecture": "aarch64"}
    )
    result = cloud.run(
        "server", "rescue", "--image", "day2-rescue-arm", "vm-rescue-refused", check=False
    )
    assert result.returncode != 0
    assert (
        f"Rescue image {arm} is for architecture aarch64 (hw_architecture=aarch64), but server "
        f"{uuid}'s guest is x86_64" in result.stderr
    )
    cloud.run("server", "pause", "vm-rescue-refused")
    cloud.wait("vm-rescue-refused", lambda s: s["status"] == "PAUSED")
    result = cloud.run("server", "rescue", "vm-rescue-refused", check=False)
    assert result.returncode != 0 and "vm_state paused" in result.stderr
    assert [e["Action"] for e in cloud.events("vm-rescue-refused")] == ["pause", "create"]
    delete_api(cloud, uuid)


def settled(shown: dict[str, Any]) -> bool:
    return shown["OS-EXT-STS:task_state"] is None


def test_a_rescue_failing_on_the_host_restores_the_guest(
    cloud: Day2Cloud, conductor: Conductor, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = boot_api(cloud, "vm-rescue-fail")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    before = definition(cloud, host, uuid)
    connection = cloud.view.agent(host).driver.connection
    real_define = connection.defineXML

    def refuse_rescue_xml(xml: str) -> Any:
        if rescue.RESCUE_DISK in xml:
            raise errors.HypervisorError("internal error: no rescue for you", 1)
        return real_define(xml)

    monkeypatch.setattr(connection, "defineXML", refuse_rescue_xml)
    act(cloud, uuid, {"rescue": None})
    conductor.drain(timeout=30)
    shown = wait_api(cloud, uuid, settled)
    monkeypatch.undo()
    assert shown["status"] == "ACTIVE"  # where it was, running again
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}
    assert definition(cloud, host, uuid) == before
    assert rescue_files(cloud, host, uuid) == []
    assert cloud.usages()[host] == SMALL
    assert image_id(cloud, "day2-image") in cloud.view.agent(host).images.users()[uuid]
    (step,) = event_detail(cloud, uuid, "rescue")["events"]
    assert step["event"] == "compute_rescue_instance" and step["result"] == "Error"
    assert f"Rescue of {uuid} on {host} failed" in step["details"]
    assert "no rescue for you" in step["details"]
    delete_api(cloud, uuid)


def test_a_rescue_image_without_data_fails_before_the_host_is_touched(
    cloud: Day2Cloud, conductor: Conductor
) -> None:
    server = boot_api(cloud, "vm-rescue-nodata")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    gone = cloud.view.client.create_image("day2-rescue-gone", b"\6" * 65536, {})
    cloud.view.control.images.store.path(gone).unlink()  # the data file lost after upload
    act(cloud, uuid, {"rescue": {"rescue_image_ref": gone}})  # active: the API accepts it
    conductor.drain(timeout=30)
    shown = wait_api(cloud, uuid, settled)
    assert shown["status"] == "ACTIVE"
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}
    assert rescue_files(cloud, host, uuid) == []
    (step,) = event_detail(cloud, uuid, "rescue")["events"]
    assert step["result"] == "Error" and "its data file is missing" in step["details"]
    delete_api(cloud, uuid)


def test_an_unrescue_failing_on_the_host_keeps_the_rescue(
    cloud: Day2Cloud, conductor: Conductor, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = boot_api(cloud, "vm-unrescue-fail")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    act(cloud, uuid, {"rescue": None})
    wait_api(cloud, uuid, lambda s: s["status"] == "RESCUE")
    rescued = definition(cloud, host, uuid)
    connection = cloud.view.agent(host).driver.connection
    real_define = connection.defineXML

    def refuse_original(xml: str) -> Any:
        if rescue.RESCUE_DISK not in xml:
            raise libvirt_error(libvirt.VIR_ERR_INTERNAL_ERROR, "cannot define the original")
        return real_define(xml)

    monkeypatch.setattr(connection, "defineXML", refuse_original)
    act(cloud, uuid, {"unrescue": None})
    conductor.drain(timeout=30)
    shown = wait_api(cloud, uuid, settled)
    monkeypatch.undo()
    assert shown["status"] == "RESCUE"
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}  # the rescue, running
    assert definition(cloud, host, uuid) == rescued
    (step,) = event_detail(cloud, uuid, "unrescue")["events"]
    assert step["result"] == "Error" and "cannot define the original" in step["details"]
    act(cloud, uuid, {"unrescue": None})  # the host works again: the unrescue goes through
    wait_api(cloud, uuid, lambda s: s["status"] == "ACTIVE")
    assert rescue_files(cloud, host, uuid) == []
    delete_api(cloud, uuid)


@pytest.fixture
def passwords_off(cloud: Day2Cloud) -> Iterator[None]:
    """``[api] enable_instance_password = false`` on the running cloud."""
    conf = cloud.view.control.conf
    conf.set_override("enable_instance_password", False, group="api")
    yield
    conf.clear_override("enable_instance_password", group="api")


def create_with_password(cloud: Day2Cloud, name: str, image: str, password: str) -> Any:
    flavor = flavor_id(cloud, "day2.small")
    server = {"name": name, "flavorRef": flavor, "imageRef": image, "adminPass": password}
    return api(cloud, "POST", "/servers", {"server": {**server, "networks": "none"}})["server"]


def test_instance_passwords_off_hides_adminpass_in_every_answer(
    cloud: Day2Cloud, passwords_off: None, tmp_path: pathlib.Path
) -> None:
    """Create, rebuild, evacuate (2.1: before 2.14 it answers the password) and
    rescue answer without ``adminPass``, as Nova with the option false."""
    image = image_id(cloud, "day2-image")
    created = create_with_password(cloud, "vm-nopass", image, "given-pass-1")
    assert "adminPass" not in created and created["id"]
    uuid = created["id"]
    shown = wait_api(cloud, uuid, lambda s: s["status"] == "ACTIVE")
    rebuilt = api(cloud, "POST", f"/servers/{uuid}/action", {"rebuild": {"imageRef": image}})
    assert rebuilt["server"]["id"] == uuid and "adminPass" not in rebuilt["server"]
    wait_api(cloud, uuid, lambda s: s["status"] == "ACTIVE")
    rescued = api(cloud, "POST", f"/servers/{uuid}/action", {"rescue": {"adminPass": "r"}})
    assert rescued == {}
    shown = wait_api(cloud, uuid, lambda s: s["status"] == "RESCUE")
    act(cloud, uuid, {"unrescue": None})
    shown = wait_api(cloud, uuid, lambda s: s["status"] == "ACTIVE")
    source = shown["OS-EXT-SRV-ATTR:host"]
    # (a rebuild, so the destination must not see the disk: onSharedStorage false)
    with own_instances_path(cloud, other(source), tmp_path):
        with host_down(cloud, source):
            evacuated = api(
                cloud,
                "POST",
                f"/servers/{uuid}/action",
                {"evacuate": {"onSharedStorage": False, "adminPass": "e"}},
                version="2.1",
            )
            assert evacuated == {}
            shown = wait_api(cloud, uuid, lambda s: s["OS-EXT-SRV-ATTR:host"] == other(source))
        delete_api(cloud, uuid)


def test_instance_passwords_on_shows_the_given_password_in_every_answer(
    cloud: Day2Cloud, tmp_path: pathlib.Path
) -> None:
    image = image_id(cloud, "day2-image")
    created = create_with_password(cloud, "vm-pass", image, "given-pass-2")
    assert created["adminPass"] == "given-pass-2"
    uuid = created["id"]
    wait_api(cloud, uuid, lambda s: s["status"] == "ACTIVE")
    rebuild = {"rebuild": {"imageRef": image, "adminPass": "rebuilt-pass"}}
    rebuilt = api(cloud, "POST", f"/servers/{uuid}/action", rebuild)
    assert rebuilt["server"]["adminPass"] == "rebuilt-pass"
    wait_api(cloud, uuid, lambda s: s["status"] == "ACTIVE")
    rescued = api(cloud, "POST", f"/servers/{uuid}/action", {"rescue": {"adminPass": "r2"}})
    assert rescued == {"adminPass": "r2"}
    wait_api(cloud, uuid, lambda s: s["status"] == "RESCUE")
    act(cloud, uuid, {"unrescue": None})
    shown = wait_api(cloud, uuid, lambda s: s["status"] == "ACTIVE")
    source = shown["OS-EXT-SRV-ATTR:host"]
    # (a rebuild, so the destination must not see the disk: onSharedStorage false)
    with own_instances_path(cloud, other(source), tmp_path):
        with host_down(cloud, source):
            evacuate = {"evacuate": {"onSharedStorage": False, "adminPass": "evac-pass"}}
            evacuated = api(cloud, "POST", f"/servers/{uuid}/action", evacuate, version="2.1")
            assert evacuated == {"adminPass": "evac-pass"}
            wait_api(cloud, uuid, lambda s: s["OS-EXT-SRV-ATTR:host"] == other(source))
        delete_api(cloud, uuid)
    # on shared storage the disk keeps its password: none is answered, none may be given
    boot_shared = create_with_password(cloud, "vm-pass-shared", image, "p")
    uuid = boot_shared["id"]
    shown = wait_api(cloud, uuid, lambda s: s["status"] == "ACTIVE")
    source = shown["OS-EXT-SRV-ATTR:host"]
    with host_down(cloud, source):
        shared = {"evacuate": {"onSharedStorage": True}}
        evacuated = api(cloud, "POST", f"/servers/{uuid}/action", shared, version="2.1")
        assert evacuated == {"adminPass": None}
        wait_api(cloud, uuid, lambda s: s["OS-EXT-SRV-ATTR:host"] == other(source))
    delete_api(cloud, uuid)


def test_the_agents_report_keeps_a_rescued_guest_and_follows_its_power(cloud: Day2Cloud) -> None:
    """The periodic report (power sync, guest list, orphan reaping) leaves a rescued
    guest alone; a rescued guest that stops stays RESCUE (power state Shutdown, as
    Nova's sync leaves it) and unrescue still boots it from its own disk."""
    server = boot_api(cloud, "vm-rescue-sync")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    cloud.run("server", "rescue", "vm-rescue-sync")
    cloud.wait("vm-rescue-sync", lambda s: s["status"] == "RESCUE")
    agent = cloud.view.agent(host)
    agent.refresh()
    shown = cloud.server("vm-rescue-sync")
    assert (shown["status"], shown["OS-EXT-STS:power_state"]) == ("RESCUE", 1)
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}  # not reaped
    assert rescue.RESCUE_DISK in definition(cloud, host, uuid)  # still the rescue's

    domain(cloud, host, uuid).destroy()  # the rescue system powered itself off
    agent.refresh()
    shown = cloud.wait("vm-rescue-sync", lambda s: s["OS-EXT-STS:power_state"] == 4)
    assert shown["status"] == "RESCUE" and shown["OS-EXT-STS:task_state"] is None
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_SHUTOFF}

    cloud.run("server", "unrescue", "vm-rescue-sync")
    shown = cloud.wait("vm-rescue-sync", lambda s: s["status"] == "ACTIVE")
    assert shown["OS-EXT-STS:power_state"] == 1
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}
    assert rescue_files(cloud, host, uuid) == []
    delete_api(cloud, uuid)


def test_a_rescued_guest_that_vanishes_is_marked_error_by_the_report(cloud: Day2Cloud) -> None:
    server = boot_api(cloud, "vm-rescue-gone")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    act(cloud, uuid, {"rescue": None})
    wait_api(cloud, uuid, lambda s: s["status"] == "RESCUE")
    gone = domain(cloud, host, uuid)
    gone.destroy()
    gone.undefine()  # e.g. removed by hand on the host
    cloud.view.agent(host).refresh()
    shown = wait_api(cloud, uuid, lambda s: s["status"] == "ERROR")
    assert shown["fault"]["message"] == f"guest domain not found on host {host}"
    assert shown["OS-EXT-SRV-ATTR:host"] is None
    assert cloud.usages() == {host: ZERO, other(host): ZERO}  # its allocation freed
    delete_api(cloud, uuid)


def test_a_stable_device_rescue_keeps_the_own_disks_in_place(cloud: Day2Cloud) -> None:
    """An image with hw_rescue_device/hw_rescue_bus (Nova's stable device rescue):
    the rescue overlay is one more device on that bus, booted first, and the guest's
    own root disk keeps its name and bus; unrescue restores the definition exactly."""
    cloud.view.client.create_image(
        "day2-rescue-cd", b"\10" * 65536, {"hw_rescue_device": "cdrom", "hw_rescue_bus": "sata"}
    )
    server = boot_api(cloud, "vm-rescue-stable")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    before = definition(cloud, host, uuid)
    [(root_dev, root_disk)] = rescue.disk_sources(before)
    cloud.run("server", "rescue", "--image", "day2-rescue-cd", "vm-rescue-stable")
    cloud.wait("vm-rescue-stable", lambda s: s["status"] == "RESCUE")
    live = cloud.view.agent(host).driver.get_domain_xml(uuid)
    where = instance_dir(cloud, host, uuid)
    assert rescue.disk_sources(live) == [
        (root_dev, root_disk),  # in its place
        ("sda", f"{where}/{rescue.RESCUE_DISK}"),
    ]
    found = etree.fromstring(live.encode())
    added = found.findall("devices/disk")[-1]
    assert added.get("device") == "cdrom" and added.find("target").get("bus") == "sata"  # type: ignore[union-attr]
    assert [b.getparent().find("target").get("dev") for b in found.iterfind("devices/*/boot")] == [  # type: ignore[union-attr]
        "sda"
    ]
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}
    cloud.run("server", "unrescue", "vm-rescue-stable")
    cloud.wait("vm-rescue-stable", lambda s: s["status"] == "ACTIVE")
    assert definition(cloud, host, uuid) == before
    assert rescue_files(cloud, host, uuid) == []

    cloud.view.client.create_image("day2-rescue-fd", b"\11" * 1024, {"hw_rescue_device": "floppy"})
    result = cloud.run(
        "server", "rescue", "--image", "day2-rescue-fd", "vm-rescue-stable", check=False
    )
    assert result.returncode != 0
    assert (
        "Invalid image property hw_rescue_device='floppy': guest architecture x86_64 "
        "(machine q35) has no floppy controller; valid: disk, cdrom." in result.stderr
    )
    assert cloud.server("vm-rescue-stable")["status"] == "ACTIVE"
    delete_api(cloud, uuid)
