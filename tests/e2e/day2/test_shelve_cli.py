"""Shelve, shelve-offload and unshelve through the real ``openstack`` CLI on simulated
hosts: the shelve image in the Image API, the system metadata, the guest's domain
and the placement usage of both hosts after every step; a failed shelve or unshelve
rolls back with nothing leaked and its reason in ``server event show``; bad input and
the wrong state are refused naming what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from virtfleet import errors
from virtfleet.cli.apiclient import APIError
from virtfleet.conductor.manager import Conductor
from virtfleet.db import servers

from .conftest import SMALL, ZERO, Day2Cloud

NOWHERE = {"day2-a": ZERO, "day2-b": ZERO}


@pytest.fixture
def conductor(day2: Day2Cloud) -> Iterator[Conductor]:
    conductor = day2.view.control.conductor
    yield conductor
    conductor.drain(timeout=30)


@pytest.fixture
def keep_on_host(day2: Day2Cloud) -> Iterator[None]:
    """``[compute] shelved_offload_time = -1``: shelved servers keep their host."""
    conf = day2.view.control.conf
    conf.set_override("shelved_offload_time", -1, "compute")
    yield
    conf.clear_override("shelved_offload_time", "compute")


def boot(day2: Day2Cloud, name: str) -> dict[str, Any]:
    server: dict[str, Any] = day2.json(
        "server", "create", "--flavor", "day2.small", "--image", "day2-image", "--wait", name
    )
    assert server["status"] == "ACTIVE", server
    return server


def settled(status: str) -> Any:
    return lambda s: s["status"] == status and s["OS-EXT-STS:task_state"] is None


def domain_state(day2: Day2Cloud, uuid: str) -> dict[str, int]:
    found = {}
    for host in ("day2-a", "day2-b"):
        hypervisor = day2.view.hypervisor(host)
        with hypervisor.locked():
            try:
                found[host] = int(hypervisor.record(uuid).state)
            except libvirt.libvirtError:
                continue
    return found


def images_named(day2: Day2Cloud, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = day2.view.client.request("GET", f"/image/v2/images?name={name}")[
        "images"
    ]
    return found


def action(day2: Day2Cloud, uuid: str, body: Any, version: str = "2.96") -> Any:
    return day2.view.client.request(
        "POST",
        f"/compute/v2.1/servers/{uuid}/action",
        body,
        headers={"OpenStack-API-Version": f"compute {version}"},
    )


def test_shelve_offloads_and_unshelve_boots_from_the_shelve_image(day2: Day2Cloud) -> None:
    server = boot(day2, "vm-shelf")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    day2.run("server", "shelve", "vm-shelf")  # shelved_offload_time 0: offloaded at once
    shown = day2.wait("vm-shelf", settled("SHELVED_OFFLOADED"))
    assert shown["OS-EXT-SRV-ATTR:host"] is None
    assert day2.usages() == NOWHERE  # the allocation was given back
    assert domain_state(day2, uuid) == {}  # the domain and its disk left the host
    (image,) = images_named(day2, "vm-shelf-shelved")
    assert image["status"] == "active" and image["instance_uuid"] == uuid
    system = servers.get(day2.view.control.db, uuid).system_metadata
    assert system["shelved_image_id"] == image["id"] and system["shelved_host"] == host
    assert system["shelved_at"]

    day2.run("server", "unshelve", "vm-shelf")
    shown = day2.wait("vm-shelf", settled("ACTIVE"))
    landed = shown["OS-EXT-SRV-ATTR:host"]
    assert day2.usages() == {**NOWHERE, landed: SMALL}
    assert domain_state(day2, uuid) == {landed: libvirt.VIR_DOMAIN_RUNNING}
    assert images_named(day2, "vm-shelf-shelved") == []  # deleted once the guest runs
    assert servers.get(day2.view.control.db, uuid).system_metadata == {}
    assert shown["image"] == server["image"]  # the server's image is unchanged

    events = day2.events("vm-shelf")
    assert [e["Action"] for e in events] == ["unshelve", "shelve", "create"]
    shelve = day2.event("vm-shelf", events[1]["Request ID"])
    assert [e["event"] for e in shelve["events"]] == ["compute_shelve_instance"]
    assert all(e["result"] == "Success" for e in shelve["events"]), shelve
    day2.run("server", "delete", "--wait", "vm-shelf")
    assert day2.usages() == NOWHERE


def test_shelved_keeps_its_host_until_offloaded_and_unshelves_to_a_named_host(
    day2: Day2Cloud, keep_on_host: None
) -> None:
    server = boot(day2, "vm-keep")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    day2.run("server", "shelve", "vm-keep")
    shown = day2.wait("vm-keep", settled("SHELVED"))
    assert shown["OS-EXT-SRV-ATTR:host"] == host
    assert day2.usages()[host] == SMALL  # still held on its host
    assert domain_state(day2, uuid) == {host: libvirt.VIR_DOMAIN_SHUTOFF}

    # a SHELVED server unshelves in place; zone or host are for offloaded ones only
    refused = day2.run("server", "unshelve", "--host", "day2-b", "vm-keep", check=False)
    assert refused.returncode != 0
    assert "The server status must be SHELVED_OFFLOADED" in refused.stderr, refused.stderr

    # (OSC's ``shelve --offload`` skips a server that is SHELVED already: the API)
    action(day2, uuid, {"shelveOffload": None})
    day2.wait("vm-keep", settled("SHELVED_OFFLOADED"))
    assert day2.usages() == NOWHERE
    assert domain_state(day2, uuid) == {}
    target = "day2-b" if host == "day2-a" else "day2-a"
    day2.run("server", "unshelve", "--host", target, "vm-keep")
    shown = day2.wait("vm-keep", settled("ACTIVE"))
    assert shown["OS-EXT-SRV-ATTR:host"] == target
    assert day2.usages() == {**NOWHERE, target: SMALL}
    assert domain_state(day2, uuid) == {target: libvirt.VIR_DOMAIN_RUNNING}
    actions = [e["Action"] for e in day2.events("vm-keep")]
    assert actions == ["unshelve", "shelveOffload", "shelve", "create"]

    # shelved (kept) then unshelved in place: the same host, the image gone
    day2.run("server", "shelve", "vm-keep")
    day2.wait("vm-keep", settled("SHELVED"))
    day2.run("server", "unshelve", "vm-keep")
    shown = day2.wait("vm-keep", settled("ACTIVE"))
    assert shown["OS-EXT-SRV-ATTR:host"] == target
    assert domain_state(day2, uuid) == {target: libvirt.VIR_DOMAIN_RUNNING}
    assert images_named(day2, "vm-keep-shelved") == []
    day2.run("server", "delete", "--wait", "vm-keep")
    assert day2.usages() == NOWHERE


def test_a_failed_shelve_and_unshelve_roll_back_with_the_reason(
    day2: Day2Cloud, conductor: Conductor, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = boot(day2, "vm-fails")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    driver = day2.view.agent(host).driver

    def no_snapshot(instance_uuid: str, target_path: str) -> None:
        raise errors.HypervisorError("snapshot: qemu-img: disk full", 1)

    with monkeypatch.context() as patch:
        patch.setattr(driver, "snapshot", no_snapshot)
        day2.run("server", "shelve", "vm-fails")
        conductor.drain(timeout=30)
        shown = day2.wait("vm-fails", settled("ACTIVE"))
    assert domain_state(day2, uuid) == {host: libvirt.VIR_DOMAIN_RUNNING}  # started again
    assert day2.usages() == {**NOWHERE, host: SMALL}
    assert images_named(day2, "vm-fails-shelved") == []  # the image was deleted
    failed = day2.events("vm-fails")[0]
    assert failed["Action"] == "shelve"
    shown = day2.event("vm-fails", failed["Request ID"])
    (event,) = shown["events"]
    assert event["result"] == "Error" and "disk full" in event["details"], shown

    day2.run("server", "shelve", "vm-fails")
    day2.wait("vm-fails", settled("SHELVED_OFFLOADED"))

    def no_spawn(spec: Any) -> None:
        raise errors.HypervisorError("spawn: internal error: no memory", 1)

    with monkeypatch.context() as patch:
        for name in ("day2-a", "day2-b"):
            patch.setattr(day2.view.agent(name).driver, "spawn", no_spawn)
        day2.run("server", "unshelve", "vm-fails")
        conductor.drain(timeout=30)
        day2.wait("vm-fails", settled("SHELVED_OFFLOADED"))
    shown = day2.server("vm-fails")
    assert shown["OS-EXT-SRV-ATTR:host"] is None
    assert day2.usages() == NOWHERE  # every claim was given back
    assert domain_state(day2, uuid) == {}
    assert len(images_named(day2, "vm-fails-shelved")) == 1  # kept for the next unshelve
    failed = day2.events("vm-fails")[0]
    assert failed["Action"] == "unshelve"
    (event,) = day2.event("vm-fails", failed["Request ID"])["events"]
    assert event["result"] == "Error" and "no memory" in event["details"], event

    day2.run("server", "unshelve", "vm-fails")  # the hosts are well again
    shown = day2.wait("vm-fails", settled("ACTIVE"))
    assert day2.usages() == {**NOWHERE, shown["OS-EXT-SRV-ATTR:host"]: SMALL}
    day2.run("server", "delete", "--wait", "vm-fails")
    assert day2.usages() == NOWHERE


def test_unshelve_moves_on_from_a_failing_host_but_not_from_a_named_one(
    day2: Day2Cloud, conductor: Conductor, monkeypatch: pytest.MonkeyPatch
) -> None:
    uuid = boot(day2, "vm-next")["id"]
    day2.run("server", "shelve", "vm-next")
    day2.wait("vm-next", settled("SHELVED_OFFLOADED"))

    def no_spawn(spec: Any) -> None:
        raise errors.HypervisorError("spawn: internal error: no memory", 1)

    with monkeypatch.context() as patch:
        patch.setattr(day2.view.agent("day2-a").driver, "spawn", no_spawn)
        day2.run("server", "unshelve", "--host", "day2-a", "vm-next")  # 2.91: only there
        conductor.drain(timeout=30)
        shown = day2.wait("vm-next", settled("SHELVED_OFFLOADED"))
        assert shown["OS-EXT-SRV-ATTR:host"] is None
        assert day2.usages() == NOWHERE and domain_state(day2, uuid) == {}
        failed = day2.events("vm-next")[0]
        (event,) = day2.event("vm-next", failed["Request ID"])["events"]
        assert event["result"] == "Error", event
        assert f"Unshelve of {uuid}: 1 host refused — day2-a: " in event["details"], event
        assert "no memory" in event["details"], event

        day2.run("server", "unshelve", "vm-next")  # the scheduler's choice: past day2-a
        conductor.drain(timeout=30)
        shown = day2.wait("vm-next", settled("ACTIVE"))
    assert shown["OS-EXT-SRV-ATTR:host"] == "day2-b"
    assert day2.usages() == {**NOWHERE, "day2-b": SMALL}
    assert domain_state(day2, uuid) == {"day2-b": libvirt.VIR_DOMAIN_RUNNING}
    day2.run("server", "delete", "--wait", "vm-next")
    assert day2.usages() == NOWHERE


def test_shelve_input_and_states_are_checked(day2: Day2Cloud) -> None:
    uuid = boot(day2, "vm-shelve-bad")["id"]
    for body, version, status, wanted in (
        ({"unshelve": None}, "2.96", 409, "Cannot 'unshelve' instance"),
        ({"shelveOffload": None}, "2.96", 409, "Cannot 'shelveOffload' instance"),
        ({"unshelve": {"colour": "x"}}, "2.96", 400, "colour"),
        ({"unshelve": {"host": "day2-a"}}, "2.90", 400, "host"),
    ):
        with pytest.raises(APIError) as refused:
            action(day2, uuid, body, version)
        assert refused.value.status == status and wanted in str(refused.value), refused.value
    day2.run("server", "shelve", "vm-shelve-bad")
    day2.wait("vm-shelve-bad", settled("SHELVED_OFFLOADED"))
    for body, status, wanted in (
        ({"shelve": None}, 409, "Cannot 'shelve' instance"),
        ({"unshelve": {"availability_zone": "az-none"}}, 400, "availability zone is not"),
        ({"unshelve": {"host": "ghost"}}, 400, "Compute host ghost could not be found"),
    ):
        with pytest.raises(APIError) as refused:
            action(day2, uuid, body)
        assert refused.value.status == status and wanted in str(refused.value), refused.value
    assert day2.usages() == NOWHERE  # nothing was claimed by the refusals
    day2.run("server", "delete", "--wait", "vm-shelve-bad")
    assert images_named(day2, "vm-shelve-bad-shelved") == []
