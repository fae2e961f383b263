"""Evacuation and rebuild on simulated hosts: through the real ``openstack`` CLI
(evacuate from a host whose agent stopped and whose service is forced down, the
dead source cleaned when its agent returns; rebuild with a new image), placement
usage on source and destination after every step, the guest's domain where it should
be; through the Compute API for the failure of each step (nothing leaked:
allocations, domains; the migration's status and reason; the failing step in
``server event show``) and for the refused requests."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from virtfleet.cli.apiclient import APIError
from virtfleet.conductor.manager import Conductor
from virtfleet.db import migration_records as records
from virtfleet.virt.libvirt.host import instances_path

from .conftest import SMALL, ZERO, Day2Cloud
from .test_moves_cli import (
    act,
    api,
    boot_api,
    delete_api,
    domains,
    event_detail,
    fail_on,
    migrations,
    other,
    settled,
    show,
    wait_api,
)

SERVICE = "nova-compute"


@pytest.fixture(scope="module")
def cloud(day2: Day2Cloud) -> Day2Cloud:
    client = day2.view.client
    client.create_image("day2-image-2", b"\1" * 65536, {"hw_architecture": "x86_64"})
    client.create_image("day2-arm", b"\2" * 65536, {"hw_architecture": "aarch64"})
    return day2


@pytest.fixture
def conductor(cloud: Day2Cloud) -> Iterator[Conductor]:
    conductor = cloud.view.control.conductor
    yield conductor
    conductor.drain(timeout=30)


def image_id(cloud: Day2Cloud, name: str) -> str:
    found = cloud.view.client.request("GET", f"/image/v2/images?name={name}")["images"]
    return str(found[0]["id"])


@contextlib.contextmanager
def host_down(cloud: Day2Cloud, host: str) -> Iterator[None]:
    """``host``'s agent stopped and its compute service forced down (as an operator
    does once the host is fenced); its agent started again (it reports at once, and
    removes evacuated guests) and the service up again after."""
    agent = cloud.view.agent(host)
    agent.stop()
    cloud.run("compute", "service", "set", "--down", host, SERVICE)
    try:
        yield
    finally:
        agent.start()
        cloud.run("compute", "service", "set", "--up", host, SERVICE)


@contextlib.contextmanager
def own_instances_path(cloud: Day2Cloud, host: str, path: pathlib.Path) -> Iterator[None]:
    """``host``'s agent stops sharing the instances path of the cloud's agents (so an
    evacuation to it rebuilds from the image); shared again after."""
    conf = cloud.view.agent(host).conf
    conf.set_override("instances_path", str(path), "libvirt")
    try:
        yield
    finally:
        conf.clear_override("instances_path", "libvirt")


# ----------------------------------------------------------------------------- CLI


def test_evacuate_through_the_cli_then_the_source_returns_clean(
    cloud: Day2Cloud, conductor: Conductor
) -> None:
    server = boot_api(cloud, "vm-evac")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    assert cloud.usages() == {source: SMALL, dest: ZERO}

    refused = cloud.run("server", "evacuate", "vm-evac", check=False)
    assert refused.returncode != 0 and "still in use" in refused.stderr
    assert show(cloud, uuid)["status"] == "ACTIVE" and migrations(cloud, uuid) == []

    with host_down(cloud, source):
        cloud.run("server", "evacuate", "--host", dest, "vm-evac")  # 2.96: lands stopped
        shown = wait_api(cloud, uuid, settled)
        assert shown["status"] == "SHUTOFF" and shown["OS-EXT-SRV-ATTR:host"] == dest
        assert cloud.usages() == {source: SMALL, dest: SMALL}  # the source held
        (migration,) = migrations(cloud, uuid)
        assert (migration["migration_type"], migration["status"]) == ("evacuation", "done")
        held = cloud.view.client.request("GET", f"/placement/allocations/{migration['uuid']}")
        assert len(held["allocations"]) == 1  # the dead source, by the migration's uuid
        assert domains(cloud, uuid) == {
            source: libvirt.VIR_DOMAIN_RUNNING,  # the dead host's guest, as it was
            dest: libvirt.VIR_DOMAIN_SHUTOFF,
        }
    # the source's agent is back: the evacuated guest is removed, not started
    assert domains(cloud, uuid) == {dest: libvirt.VIR_DOMAIN_SHUTOFF}
    assert cloud.usages() == {source: ZERO, dest: SMALL}
    assert migrations(cloud, uuid)[0]["status"] == "completed"
    evacuate = next(e for e in cloud.events("vm-evac") if e["Action"] == "evacuate")
    detail = cloud.event("vm-evac", evacuate["Request ID"])
    assert {e["event"]: e["result"] for e in detail["events"]} == {
        "conductor_rebuild_server": "Success",
        "compute_rebuild_instance": "Success",
    }
    cloud.run("server", "start", "vm-evac")
    assert wait_api(cloud, uuid, lambda s: s["status"] == "ACTIVE")["OS-EXT-SRV-ATTR:host"] == dest
    delete_api(cloud, uuid)
    assert cloud.usages() == {source: ZERO, dest: ZERO}


MARK = b"written by the guest before its host died"


def disk_of(cloud: Day2Cloud, host: str, uuid: str) -> pathlib.Path:
    """The guest's root disk in ``host``'s instances path."""
    return pathlib.Path(instances_path(cloud.view.agent(host).conf)) / uuid / "disk"


def disk_in_domain(cloud: Day2Cloud, host: str, uuid: str) -> str:
    hypervisor = cloud.view.hypervisor(host)
    with hypervisor.locked():
        return hypervisor.record(uuid).definition.xml


def test_evacuate_on_shared_storage_keeps_the_disk_through_the_cli(
    cloud: Day2Cloud, conductor: Conductor
) -> None:
    """The agents of one process share their instances path: from 2.14 the destination
    sees the guest's disk there and defines the guest with it as it is (what the guest
    wrote stays; nothing rebuilt); when the source returns its domain goes, the shared
    disk stays."""
    server = boot_api(cloud, "vm-shared")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    disk = disk_of(cloud, source, uuid)
    assert disk == disk_of(cloud, dest, uuid)  # one path for both hosts
    with disk.open("ab") as written:
        written.write(MARK)
    with host_down(cloud, source):
        cloud.run("server", "evacuate", "--host", dest, "vm-shared")  # 2.96: lands stopped
        shown = wait_api(cloud, uuid, settled)
        assert shown["status"] == "SHUTOFF" and shown["OS-EXT-SRV-ATTR:host"] == dest
        assert disk.read_bytes().endswith(MARK)  # the guest's own disk, kept
        assert f'file="{disk}"' in disk_in_domain(cloud, dest, uuid)
        assert cloud.usages() == {source: SMALL, dest: SMALL}
        (migration,) = migrations(cloud, uuid)
        assert (migration["migration_type"], migration["status"]) == ("evacuation", "done")
    assert domains(cloud, uuid) == {dest: libvirt.VIR_DOMAIN_SHUTOFF}  # the source's gone
    assert disk.read_bytes().endswith(MARK)  # the source kept the shared files
    assert cloud.usages() == {source: ZERO, dest: SMALL}
    assert migrations(cloud, uuid)[0]["status"] == "completed"
    cloud.run("server", "start", "vm-shared")
    assert wait_api(cloud, uuid, lambda s: s["status"] == "ACTIVE")["OS-EXT-SRV-ATTR:host"] == dest
    delete_api(cloud, uuid)
    assert cloud.usages() == {source: ZERO, dest: ZERO} and not disk.parent.exists()


def test_evacuate_where_the_caller_and_the_destination_disagree_then_rebuild(
    cloud: Day2Cloud, conductor: Conductor, tmp_path: pathlib.Path
) -> None:
    """Before 2.14 the caller's onSharedStorage must match what the destination sees
    (Nova's "Invalid state of instance files on shared storage"): false where the disk
    is shared, or true where it is not, fails with the reason, nothing leaked and the
    disk untouched; from 2.14 a destination that does not share rebuilds from the
    image, and the returning source then removes its own copy."""
    server = boot_api(cloud, "vm-disagree")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    disk = disk_of(cloud, source, uuid)
    with disk.open("ab") as written:
        written.write(MARK)
    # (OSC names a host from 2.29 only: the scheduler's choice is the one other host)
    old = ("--os-compute-api-version", "2.13", "server", "evacuate")
    db = cloud.view.control.db

    def failed_with(reason: str) -> None:
        conductor.drain(timeout=30)
        shown = wait_api(cloud, uuid, settled)
        assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == source
        assert cloud.usages() == {source: SMALL, dest: ZERO}
        assert domains(cloud, uuid) == {source: libvirt.VIR_DOMAIN_RUNNING}
        assert disk.read_bytes().endswith(MARK)
        ended = max(records.list_migrations(db, instance_uuid=uuid), key=lambda m: m.id)
        assert ended.status == "error" and reason in (ended.error or ""), ended
        detail = event_detail(cloud, uuid, "evacuate")  # the latest evacuate
        failed = {e["event"]: e["details"] for e in detail["events"] if e["result"] == "Error"}
        assert reason in failed["conductor_rebuild_server"], failed

    dest_conf = cloud.view.agent(dest).conf
    try:
        with host_down(cloud, source):
            cloud.cli.run(*old, "vm-disagree")  # onSharedStorage false, but dest sees it
            failed_with(f"{dest} sees the server's disk on its instances path (onSharedStorage")
            # dest's agent stops sharing the instances path of the cloud's agents
            dest_conf.set_override("instances_path", str(tmp_path), "libvirt")
            cloud.cli.run(*old, "--shared-storage", "vm-disagree")
            failed_with(f"{dest} does not see the server's disk on its instances path")

            cloud.run("server", "evacuate", "--host", dest, "vm-disagree")  # 2.96: decides
            shown = wait_api(cloud, uuid, settled)
            assert shown["status"] == "SHUTOFF" and shown["OS-EXT-SRV-ATTR:host"] == dest
            rebuilt = disk_of(cloud, dest, uuid)
            assert rebuilt.parent.parent == tmp_path and rebuilt.is_file()
            assert not rebuilt.read_bytes().endswith(MARK)  # made anew from the image
            assert disk.read_bytes().endswith(MARK)  # the dead host's copy untouched
            assert cloud.usages() == {source: SMALL, dest: SMALL}
        # the source is back and shares nothing with the destination: its copy goes
        assert domains(cloud, uuid) == {dest: libvirt.VIR_DOMAIN_SHUTOFF}
        assert not disk.exists()
        assert cloud.usages() == {source: ZERO, dest: SMALL}
        statuses = [m.status for m in records.list_migrations(db, instance_uuid=uuid)]
        assert sorted(statuses) == ["completed", "error", "error"], statuses
        delete_api(cloud, uuid)
        assert not rebuilt.parent.exists()
    finally:
        dest_conf.clear_override("instances_path", "libvirt")
    assert cloud.usages() == {source: ZERO, dest: ZERO}


def test_evacuate_before_2_95_keeps_the_guest_running_by_the_scheduler(
    cloud: Day2Cloud, conductor: Conductor
) -> None:
    server = boot_api(cloud, "vm-evac-old")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    with host_down(cloud, source):
        act(cloud, uuid, {"evacuate": {}}, version="2.94")
        conductor.drain(timeout=30)
        shown = wait_api(cloud, uuid, settled)
        assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == dest
        assert domains(cloud, uuid)[dest] == libvirt.VIR_DOMAIN_RUNNING
    assert cloud.usages() == {source: ZERO, dest: SMALL}
    delete_api(cloud, uuid)


def test_a_server_deleted_while_its_source_is_down_leaks_nothing(
    cloud: Day2Cloud, conductor: Conductor
) -> None:
    server = boot_api(cloud, "vm-evac-gone")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    with host_down(cloud, source):
        act(cloud, uuid, {"evacuate": {}}, version="2.94")
        conductor.drain(timeout=30)
        assert wait_api(cloud, uuid, settled)["OS-EXT-SRV-ATTR:host"] == dest
        delete_api(cloud, uuid)
        assert cloud.usages() == {source: ZERO, dest: ZERO}
    assert domains(cloud, uuid) == {}
    assert records.list_migrations(cloud.view.control.db, instance_uuid=uuid)[0].status == (
        records.COMPLETED
    )


def test_rebuild_through_the_cli_recreates_the_guest_from_the_new_image(
    cloud: Day2Cloud, conductor: Conductor
) -> None:
    server = boot_api(cloud, "vm-rebuild")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    before = cloud.usages()
    new_image = image_id(cloud, "day2-image-2")
    cloud.run(
        "server", "rebuild", "--image", "day2-image-2", "--name", "vm-rebuilt",
        "--property", "role=web", "--wait", "vm-rebuild",
    )  # fmt: skip
    shown = show(cloud, uuid)
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == host
    assert shown["image"]["id"] == new_image and shown["name"] == "vm-rebuilt"
    assert shown["metadata"] == {"role": "web"}
    assert cloud.usages() == before
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}
    (step,) = event_detail(cloud, uuid, "rebuild")["events"]
    assert (step["event"], step["result"]) == ("compute_rebuild_instance", "Success")

    cloud.run("server", "stop", "vm-rebuilt")
    wait_api(cloud, uuid, lambda s: s["status"] == "SHUTOFF")
    body = {"rebuild": {"imageRef": image_id(cloud, "day2-image"), "hostname": "web-2"}}
    answer = api(cloud, "POST", f"/servers/{uuid}/action", body)["server"]
    assert answer["server_groups"] == [] and "addresses" in answer  # 2.71, 2.75: as a show
    conductor.drain(timeout=30)
    shown = wait_api(cloud, uuid, settled)
    assert shown["status"] == "SHUTOFF" and shown["image"]["id"] == image_id(cloud, "day2-image")
    assert shown["OS-EXT-SRV-ATTR:hostname"] == "web-2"  # 2.90
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_SHUTOFF}
    assert cloud.usages() == before
    delete_api(cloud, uuid)


# ----------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("method", "status", "event"),
    [
        ("prep_resize", "error", None),
        ("spawn", "failed", "compute_rebuild_instance"),
        ("power_off", "failed", "compute_rebuild_instance"),
    ],
)
def test_each_failing_evacuation_step_rolls_back_with_nothing_leaked(
    cloud: Day2Cloud,
    conductor: Conductor,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    status: str,
    event: str | None,
) -> None:
    server = boot_api(cloud, f"vm-evac-{method}")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    fail_on(monkeypatch, cloud, dest, method, f"{method} broke")
    with host_down(cloud, source):
        act(cloud, uuid, {"evacuate": {}})  # 2.96: to land stopped (power_off runs)
        conductor.drain(timeout=30)
        shown = wait_api(cloud, uuid, settled)
        assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == source
        assert cloud.usages() == {source: SMALL, dest: ZERO}
        assert domains(cloud, uuid) == {source: libvirt.VIR_DOMAIN_RUNNING}
        (migration,) = migrations(cloud, uuid)
        assert migration["status"] == status
        record = records.get(cloud.view.control.db, migration["id"])
        assert f"{method} broke" in (record.error or "")
        detail = event_detail(cloud, uuid, "evacuate")
        failed = {e["event"]: e["details"] for e in detail["events"] if e["result"] == "Error"}
        assert f"{method} broke" in failed["conductor_rebuild_server"]
        if event is not None:
            assert f"{method} broke" in failed[event]
        monkeypatch.undo()
    # the source is back: nothing was evacuated, its guest stays
    assert domains(cloud, uuid) == {source: libvirt.VIR_DOMAIN_RUNNING}
    assert show(cloud, uuid)["status"] == "ACTIVE"
    delete_api(cloud, uuid)
    assert cloud.usages() == {source: ZERO, dest: ZERO}


@pytest.mark.parametrize("method", ["destroy", "spawn"])
def test_a_failed_rebuild_leaks_nothing_and_names_the_reason(
    cloud: Day2Cloud, conductor: Conductor, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    server = boot_api(cloud, f"vm-rebuild-{method}")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    before = cloud.usages()
    fail_on(monkeypatch, cloud, host, method, f"{method} broke")
    act(cloud, uuid, {"rebuild": {"imageRef": image_id(cloud, "day2-image-2")}})
    conductor.drain(timeout=30)
    shown = wait_api(cloud, uuid, settled)
    detail = event_detail(cloud, uuid, "rebuild")
    (step,) = detail["events"]
    assert step["result"] == "Error" and f"{method} broke" in step["details"]
    assert cloud.usages() == before
    if method == "destroy":  # the old guest stays as it was
        assert shown["status"] == "ACTIVE" and shown["image"]["id"] == server["image"]["id"]
        assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}
    else:  # the old disk is gone: ERROR with the reason, nothing of the new guest left
        assert shown["status"] == "ERROR" and f"{method} broke" in shown["fault"]["message"]
        assert domains(cloud, uuid) == {}
    monkeypatch.undo()
    delete_api(cloud, uuid)
    assert cloud.usages() == {h: ZERO for h in before}


def test_a_rebuild_with_corrupt_image_data_leaves_the_server_as_it_was(
    cloud: Day2Cloud, conductor: Conductor
) -> None:
    server = boot_api(cloud, "vm-rebuild-corrupt")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    before = cloud.usages()
    bad = cloud.view.client.create_image("day2-corrupt", b"\3" * 65536, {})
    stored = cloud.view.control.images.store.path(bad)
    stored.write_bytes(b"\4" * 65536)  # the stored bits no longer match the upload's digests
    act(cloud, uuid, {"rebuild": {"imageRef": bad}})  # active, sized: the API accepts it
    conductor.drain(timeout=30)
    shown = wait_api(cloud, uuid, settled)
    assert shown["status"] == "ACTIVE" and shown["image"]["id"] == server["image"]["id"]
    assert domains(cloud, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}  # the old guest, whole
    assert cloud.usages() == before
    (step,) = event_detail(cloud, uuid, "rebuild")["events"]
    assert step["result"] == "Error"
    assert f"new image could not be fetched to {host}" in step["details"]
    assert "corrupt download" in step["details"]
    assert bad not in cloud.view.agent(host).images.cached()  # nothing of it kept
    delete_api(cloud, uuid)
    assert cloud.usages() == {h: ZERO for h in before}


# ----------------------------------------------------------------------------- bad input


def refused(cloud: Day2Cloud, uuid: str, body: dict[str, Any], version: str = "2.96") -> APIError:
    with pytest.raises(APIError) as caught:
        act(cloud, uuid, body, version=version)
    return caught.value


def test_bad_evacuations_and_rebuilds_are_refused_naming_what_is_wrong(cloud: Day2Cloud) -> None:
    server = boot_api(cloud, "vm-bad-evac")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    live_cases: list[tuple[dict[str, Any], str, int, str]] = [
        ({"evacuate": {}}, "2.96", 409, f"Compute service of {source} is still in use"),
        ({"evacuate": {"host": "nowhere"}}, "2.96", 404, "Compute host nowhere not found"),
        ({"evacuate": {"host": source}}, "2.96", 400, "can't be the same one"),
        ({"evacuate": {"hots": "x"}}, "2.96", 400, "hots"),
        ({"evacuate": {"force": True}}, "2.68", 400, "force"),
        ({"evacuate": {"host": other(source)}}, "2.1", 400, "onSharedStorage"),
        ({"evacuate": {"onSharedStorage": True, "adminPass": "x"}}, "2.1", 400,
         "admin password can't be changed on existing disk"),
        ({"rebuild": {"imageRef": "nope"}}, "2.96", 400, "Image nope could not be found"),
        ({"rebuild": {}}, "2.96", 400, "imageRef"),
        ({"rebuild": {"imageRef": image_id(cloud, "day2-image"), "user_data": "x"}}, "2.56",
         400, "user_data"),
        ({"rebuild": {"imageRef": image_id(cloud, "day2-image"), "hostname": "web"}}, "2.89",
         400, "hostname"),
        ({"rebuild": {"imageRef": image_id(cloud, "day2-image"), "hostname": "a_b"}}, "2.96",
         400, "hostname"),
        ({"rebuild": {"imageRef": image_id(cloud, "day2-arm")}}, "2.96", 400,
         "lacks the trait(s) HW_ARCH_AARCH64"),
        ({"rebuild": {"imageRef": image_id(cloud, "day2-image"), "key_name": "nokey"}}, "2.96",
         400, "no key pair named 'nokey'"),
    ]  # fmt: skip
    for body, version, status, text in live_cases:
        error = refused(cloud, uuid, body, version)
        assert error.status == status, (body, error)
        assert text in str(error), (body, error)
    member = {"X-Roles": "member", "X-Project-Id": server.get("tenant_id") or "x"}
    with pytest.raises(APIError) as forbidden:
        cloud.view.client.request(
            "POST", f"/compute/v2.1/servers/{uuid}/action", {"evacuate": {}}, headers=member
        )
    assert forbidden.value.status == 403
    assert migrations(cloud, uuid) == []
    shown = show(cloud, uuid)
    assert shown["status"] == "ACTIVE" and shown["image"]["id"] == server["image"]["id"]
    delete_api(cloud, uuid)
