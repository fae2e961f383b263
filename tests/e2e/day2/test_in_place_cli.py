"""In-place day-2 actions through the real ``openstack`` CLI on simulated hosts:
pause/unpause, suspend/resume (managed save), reboot, lock with a reason, metadata,
tags, rename and description, each checked on the hypervisor, in placement (the
guest keeps its host's allocation throughout) and in ``server event list/show``;
failures at the hypervisor roll back with their reason in ``server event show``."""

from __future__ import annotations

from typing import Any

import libvirt
import pytest

from virtfleet import errors
from virtfleet.cli.apiclient import APIError

from .conftest import SMALL, ZERO, Day2Cloud


def boot(day2: Day2Cloud, name: str) -> dict[str, Any]:
    server: dict[str, Any] = day2.json(
        "server", "create", "--flavor", "day2.small", "--image", "day2-image", "--wait", name
    )
    assert server["status"] == "ACTIVE", server
    return server


def other(host: str) -> str:
    return "day2-b" if host == "day2-a" else "day2-a"


def domain_state(day2: Day2Cloud, host: str, uuid: str) -> int:
    hypervisor = day2.view.hypervisor(host)
    with hypervisor.locked():
        return int(hypervisor.record(uuid).state)


def test_pause_suspend_reboot_keep_the_guest_and_its_allocation(day2: Day2Cloud) -> None:
    server = boot(day2, "vm-power")
    uuid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
    expected = {host: SMALL, other(host): ZERO}
    assert day2.usages() == expected

    day2.run("server", "pause", "vm-power")
    paused = day2.wait("vm-power", lambda s: s["status"] == "PAUSED")
    assert paused["OS-EXT-STS:power_state"] == 3  # Nova's PAUSED (shown as a word by some CLIs)
    assert domain_state(day2, host, uuid) == libvirt.VIR_DOMAIN_PAUSED
    assert day2.usages() == expected

    day2.run("server", "unpause", "vm-power")
    day2.wait("vm-power", lambda s: s["status"] == "ACTIVE")
    assert domain_state(day2, host, uuid) == libvirt.VIR_DOMAIN_RUNNING

    day2.run("server", "suspend", "vm-power")
    day2.wait("vm-power", lambda s: s["status"] == "SUSPENDED")
    hypervisor = day2.view.hypervisor(host)
    with hypervisor.locked():
        record = hypervisor.record(uuid)
        assert (record.state, record.reason) == (
            libvirt.VIR_DOMAIN_SHUTOFF,
            libvirt.VIR_DOMAIN_SHUTOFF_SAVED,
        )
        assert record.managed_save
    assert day2.usages() == expected  # a suspended guest keeps its place

    day2.run("server", "resume", "vm-power")
    day2.wait("vm-power", lambda s: s["status"] == "ACTIVE")
    with hypervisor.locked():
        record = hypervisor.record(uuid)
        assert (record.state, record.reason) == (
            libvirt.VIR_DOMAIN_RUNNING,
            libvirt.VIR_DOMAIN_RUNNING_RESTORED,
        )
        assert not record.managed_save

    day2.run("server", "reboot", "--hard", "--wait", "vm-power")
    day2.run("server", "reboot", "--wait", "vm-power")
    assert day2.server("vm-power")["status"] == "ACTIVE"
    assert day2.usages() == expected

    actions = [e["Action"] for e in day2.events("vm-power")]
    assert actions == ["reboot", "reboot", "resume", "suspend", "unpause", "pause", "create"]
    for listed in day2.events("vm-power"):
        shown = day2.event("vm-power", listed["Request ID"])
        assert shown["message"] is None, shown
        assert all(e["result"] == "Success" for e in shown["events"]), shown
    suspend = next(e for e in day2.events("vm-power") if e["Action"] == "suspend")
    shown = day2.event("vm-power", suspend["Request ID"])
    assert [e["event"] for e in shown["events"]] == ["compute_suspend_instance"]
    assert shown["events"][0]["host"] == host

    day2.run("server", "delete", "--wait", "vm-power")
    assert day2.usages() == {host: ZERO, other(host): ZERO}


def test_actions_refused_in_the_wrong_state_name_it(day2: Day2Cloud) -> None:
    boot(day2, "vm-refused")
    result = day2.run("server", "resume", "vm-refused", check=False)
    assert result.returncode != 0
    assert "Cannot 'resume' instance" in result.stderr and "vm_state active" in result.stderr
    result = day2.run("server", "unpause", "vm-refused", check=False)
    assert "Cannot 'unpause' instance" in result.stderr
    assert [e["Action"] for e in day2.events("vm-refused")] == ["create"]  # nothing recorded
    day2.run("server", "delete", "--wait", "vm-refused")


def test_a_failed_pause_rolls_back_with_its_reason(
    day2: Day2Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = boot(day2, "vm-fail")
    host = server["OS-EXT-SRV-ATTR:host"]
    driver = day2.view.agent(host).driver

    def refuse(instance_uuid: str) -> None:
        raise errors.HypervisorError("pause: internal error: QEMU monitor went away", 1)

    monkeypatch.setattr(driver, "pause", refuse)
    day2.run("server", "pause", "vm-fail")
    shown = day2.wait("vm-fail", lambda s: s["OS-EXT-STS:task_state"] is None)
    assert shown["status"] == "ACTIVE"  # the vm_state stays; only the task ends
    assert day2.usages()[host] == SMALL
    pause = next(e for e in day2.events("vm-fail") if e["Action"] == "pause")
    assert pause["Message"] == "Error"
    detail = day2.event("vm-fail", pause["Request ID"])
    (event,) = detail["events"]
    assert event["event"] == "compute_pause_instance" and event["result"] == "Error"
    assert "QEMU monitor went away" in event["details"] and host in event["details"]
    monkeypatch.undo()
    day2.run("server", "delete", "--wait", "vm-fail")


def test_lock_with_a_reason_refuses_members_until_unlocked(day2: Day2Cloud) -> None:
    server = boot(day2, "vm-lock")
    day2.run("server", "lock", "--reason", "kernel upgrade", "vm-lock")
    shown = day2.server("vm-lock")
    assert shown["locked"] is True and shown["locked_reason"] == "kernel upgrade"
    member = {"X-Roles": "member", "X-Project-Id": shown["project_id"]}
    client = day2.view.client
    for body in ({"os-stop": None}, {"pause": None}):
        with pytest.raises(APIError) as refused:
            client.request(
                "POST", f"/compute/v2.1/servers/{server['id']}/action", body, headers=member
            )
        assert refused.value.status == 409 and "is locked" in str(refused.value)
    with pytest.raises(APIError) as refused:
        client.request("DELETE", f"/compute/v2.1/servers/{server['id']}", headers=member)
    assert refused.value.status == 409
    with pytest.raises(APIError) as override:  # the admin's lock needs unlock_override
        client.request(
            "POST", f"/compute/v2.1/servers/{server['id']}/action", {"unlock": None}, headers=member
        )
    assert override.value.status == 403 and "unlock_override" in str(override.value)
    day2.run("server", "stop", "vm-lock")  # the administrator may
    day2.wait("vm-lock", lambda s: s["status"] == "SHUTOFF")
    day2.run("server", "unlock", "vm-lock")
    shown = day2.server("vm-lock")
    assert shown["locked"] is False and shown["locked_reason"] is None
    assert [e["Action"] for e in day2.events("vm-lock")][:3] == ["unlock", "stop", "lock"]
    day2.run("server", "delete", "--wait", "vm-lock")


def test_set_name_description_properties_and_tags(day2: Day2Cloud) -> None:
    server = boot(day2, "vm-set")
    day2.run(
        "server", "set", "--name", "vm-renamed", "--description", "db primary",
        "--property", "role=db", "--property", "tier=gold", "--tag", "prod", "--tag", "eu",
        "vm-set",
    )  # fmt: skip
    shown = day2.server("vm-renamed")
    assert shown["id"] == server["id"] and shown["description"] == "db primary"
    assert shown["properties"] == {"role": "db", "tier": "gold"}
    assert sorted(shown["tags"]) == ["eu", "prod"]
    tagged = day2.json("server", "list", "--tags", "prod,eu")
    assert [s["Name"] for s in tagged] == ["vm-renamed"]
    assert day2.json("server", "list", "--not-tags", "prod") == []
    day2.run("server", "unset", "--property", "tier", "--tag", "eu", "vm-renamed")
    shown = day2.server("vm-renamed")
    assert shown["properties"] == {"role": "db"} and shown["tags"] == ["prod"]
    bad = day2.run("server", "set", "--tag", "a,b", "vm-renamed", check=False)
    assert bad.returncode != 0 and "without ',' or '/'" in bad.stderr
    day2.run("server", "delete", "--wait", "vm-renamed")


def test_the_cli_sees_no_events_before_2_51_without_admin(day2: Day2Cloud) -> None:
    server = boot(day2, "vm-old")
    client = day2.view.client
    member = {"X-Roles": "member", "X-Project-Id": day2.server("vm-old")["project_id"]}
    listed = client.request(
        "GET",
        f"/compute/v2.1/servers/{server['id']}/os-instance-actions",
        headers={**member, "OpenStack-API-Version": "compute 2.50"},
    )["instanceActions"]
    request_id = listed[0]["request_id"]
    old = client.request(
        "GET",
        f"/compute/v2.1/servers/{server['id']}/os-instance-actions/{request_id}",
        headers={**member, "OpenStack-API-Version": "compute 2.50"},
    )["instanceAction"]
    assert "events" not in old
    new = client.request(
        "GET",
        f"/compute/v2.1/servers/{server['id']}/os-instance-actions/{request_id}",
        headers={**member, "OpenStack-API-Version": "compute 2.84"},
    )["instanceAction"]
    (event,) = new["events"]
    assert event["event"] == "compute__do_build_and_run_instance"
    assert "traceback" not in event and "host" not in event and event["hostId"]
    day2.run("server", "delete", "--wait", "vm-old")
