"""Cold migration and resize on simulated hosts: through the real ``openstack`` CLI
(migrate, resize, confirm, revert: the server in VERIFY_RESIZE, placement usage on
source and destination after every step, the guest's domain where it should be), and
through the Compute API for the failure of each step (nothing leaked: allocations,
domains, the kept files; the migration ``error`` with its reason; the failing step
in ``server event show``)."""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import libvirt
import pytest

from virtfleet import errors
from virtfleet.cli.apiclient import APIError
from virtfleet.conductor.manager import Conductor
from virtfleet.db import migration_records as records
from virtfleet.db.models.compute import utcnow
from virtfleet.virt.libvirt import host as libvirt_host

from .conftest import SMALL, ZERO, Day2Cloud

MEDIUM = {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 2}


@pytest.fixture(scope="module")
def moves(day2: Day2Cloud) -> Day2Cloud:
    day2.run("flavor", "create", "--vcpus", "2", "--ram", "1024", "--disk", "2", "day2.medium")
    return day2


@pytest.fixture
def conductor(moves: Day2Cloud) -> Iterator[Conductor]:
    conductor = moves.view.control.conductor
    yield conductor
    conductor.drain(timeout=30)


def boot_api(day2: Day2Cloud, name: str) -> dict[str, Any]:
    """Boot through the API (the CLI's --wait polls every few seconds)."""
    images = day2.view.client.request("GET", "/image/v2/images?name=day2-image")["images"]
    uuid = day2.view.client.boot(name, flavor_id(day2, "day2.small"), images[0]["id"])
    shown = wait_api(day2, uuid, lambda s: s["status"] in ("ACTIVE", "ERROR"))
    assert shown["status"] == "ACTIVE", shown
    return shown


def delete_api(day2: Day2Cloud, uuid: str) -> None:
    api(day2, "DELETE", f"/servers/{uuid}")
    deadline = time.monotonic() + 30
    while True:
        try:
            show(day2, uuid)
        except APIError as exc:
            assert exc.status == 404
            return
        assert time.monotonic() < deadline, f"{uuid} was never deleted"
        time.sleep(0.05)


def other(host: str) -> str:
    return "day2-b" if host == "day2-a" else "day2-a"


def domains(day2: Day2Cloud, uuid: str) -> dict[str, int]:
    """Host -> libvirt state of the guest's domain, on the hosts that have one."""
    found = {}
    for host in ("day2-a", "day2-b"):
        hypervisor = day2.view.hypervisor(host)
        with hypervisor.locked():
            try:
                found[host] = int(hypervisor.record(uuid).state)
            except libvirt.libvirtError:
                continue
    return found


def kept_dirs(day2: Day2Cloud, uuid: str) -> list[str]:
    """The ``_resize`` directories of the guest left in any host's instances path."""
    left = set()
    for host in ("day2-a", "day2-b"):
        path = libvirt_host.instances_path(day2.view.agent(host).conf)
        kept = os.path.join(path, f"{uuid}_resize")
        if os.path.exists(kept):
            left.add(kept)
    return sorted(left)


def api(day2: Day2Cloud, method: str, path: str, body: Any = None, version: str = "2.96") -> Any:
    """A Compute API call at ``version`` as the administrator."""
    headers = {"OpenStack-API-Version": f"compute {version}"}
    return day2.view.client.request(method, "/compute/v2.1" + path, body, headers=headers)


def flavor_id(day2: Day2Cloud, name: str) -> str:
    listed = api(day2, "GET", "/flavors")["flavors"]
    return str(next(f["id"] for f in listed if f["name"] == name))


def migrations(day2: Day2Cloud, uuid: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api(
        day2, "GET", f"/os-migrations?instance_uuid={uuid}", version="2.80"
    )["migrations"]
    return listed


def event_detail(day2: Day2Cloud, uuid: str, action: str) -> dict[str, Any]:
    listed = api(day2, "GET", f"/servers/{uuid}/os-instance-actions", version="2.84")
    request_id = next(a for a in listed["instanceActions"] if a["action"] == action)["request_id"]
    shown: dict[str, Any] = api(
        day2, "GET", f"/servers/{uuid}/os-instance-actions/{request_id}", version="2.84"
    )["instanceAction"]
    return shown


def act(day2: Day2Cloud, uuid: str, body: dict[str, Any], version: str = "2.96") -> None:
    api(day2, "POST", f"/servers/{uuid}/action", body, version=version)


def show(day2: Day2Cloud, uuid: str) -> dict[str, Any]:
    shown: dict[str, Any] = api(day2, "GET", f"/servers/{uuid}")["server"]
    return shown


def wait_api(
    day2: Day2Cloud, uuid: str, wanted: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        shown = show(day2, uuid)
        if wanted(shown):
            return shown
        assert time.monotonic() < deadline, f"{uuid} never got there: {shown}"
        time.sleep(0.05)


def settled(shown: dict[str, Any]) -> bool:
    return shown["OS-EXT-STS:task_state"] is None


# ----------------------------------------------------------------------------- CLI


def test_cold_migrate_then_confirm_and_revert_through_the_cli(moves: Day2Cloud) -> None:
    server = boot_api(moves, "vm-cold")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    assert moves.usages() == {source: SMALL, dest: ZERO}

    moves.run("server", "migrate", "--wait", "vm-cold")
    shown = moves.server("vm-cold")
    assert shown["status"] == "VERIFY_RESIZE" and shown["OS-EXT-SRV-ATTR:host"] == dest
    assert moves.usages() == {source: SMALL, dest: SMALL}  # the source held by the migration
    assert domains(moves, uuid) == {dest: libvirt.VIR_DOMAIN_RUNNING}
    assert len(kept_dirs(moves, uuid)) == 1
    (migration,) = migrations(moves, uuid)
    assert (migration["migration_type"], migration["status"]) == ("migration", "finished")
    placement = moves.view.client.request("GET", f"/placement/allocations/{migration['uuid']}")
    assert len(placement["allocations"]) == 1  # the source, held by the migration's uuid

    moves.run("server", "migrate", "confirm", "vm-cold")
    wait_api(moves, uuid, lambda s: s["status"] == "ACTIVE")
    assert moves.usages() == {source: ZERO, dest: SMALL}
    assert kept_dirs(moves, uuid) == []
    assert migrations(moves, uuid)[0]["status"] == "confirmed"

    moves.run("server", "migrate", "--wait", "vm-cold")  # back towards the first host
    assert moves.server("vm-cold")["status"] == "VERIFY_RESIZE"
    assert moves.usages() == {source: SMALL, dest: SMALL}
    moves.run("server", "migrate", "revert", "vm-cold")
    shown = wait_api(moves, uuid, lambda s: s["status"] == "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == dest  # where it was before this migration
    assert moves.usages() == {source: ZERO, dest: SMALL}
    assert domains(moves, uuid) == {dest: libvirt.VIR_DOMAIN_RUNNING}
    assert kept_dirs(moves, uuid) == []
    assert [m["status"] for m in migrations(moves, uuid)] == ["reverted", "confirmed"]
    actions = [e["Action"] for e in moves.events("vm-cold")]
    assert actions[:4] == ["revertResize", "migrate", "confirmResize", "migrate"]
    delete_api(moves, uuid)
    assert moves.usages() == {source: ZERO, dest: ZERO}


def test_resize_up_revert_then_confirm_through_the_cli(moves: Day2Cloud) -> None:
    server = boot_api(moves, "vm-resize")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)

    moves.run("server", "resize", "--flavor", "day2.medium", "--wait", "vm-resize")
    shown = moves.server("vm-resize")
    assert shown["status"] == "VERIFY_RESIZE" and shown["OS-EXT-SRV-ATTR:host"] == dest
    assert shown["flavor"]["name"] == "day2.medium"
    assert moves.usages() == {source: SMALL, dest: MEDIUM}
    hypervisor = moves.view.hypervisor(dest)
    with hypervisor.locked():
        assert hypervisor.record(uuid).definition.vcpus == 2

    moves.run("server", "resize", "revert", "vm-resize")
    shown = wait_api(moves, uuid, lambda s: s["status"] == "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == source
    assert shown["flavor"]["original_name"] == "day2.small"
    assert moves.usages() == {source: SMALL, dest: ZERO}
    assert domains(moves, uuid) == {source: libvirt.VIR_DOMAIN_RUNNING}

    moves.run("server", "resize", "--flavor", "day2.medium", "--wait", "vm-resize")
    moves.run("server", "resize", "confirm", "vm-resize")
    shown = wait_api(moves, uuid, lambda s: s["status"] == "ACTIVE")
    assert shown["flavor"]["original_name"] == "day2.medium"
    assert moves.usages() == {source: ZERO, dest: MEDIUM}
    assert kept_dirs(moves, uuid) == []
    delete_api(moves, uuid)


def test_a_failed_finish_is_rolled_back_and_named_in_the_cli(
    moves: Day2Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = boot_api(moves, "vm-cold-fail")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    endpoint_cls = type(moves.view.agent(dest).driver)
    real_spawn = endpoint_cls.spawn

    def spawn(self: Any, spec: Any) -> None:
        if spec.disk_source and source not in spec.disk_source and self is _driver(moves, dest):
            raise errors.HypervisorError("internal error: no space left on the destination", 1)
        real_spawn(self, spec)

    monkeypatch.setattr(endpoint_cls, "spawn", spawn)
    moves.run("server", "migrate", "--wait", "vm-cold-fail", check=False)
    shown = wait_api(moves, uuid, settled)
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == source
    assert moves.usages() == {source: SMALL, dest: ZERO}
    assert domains(moves, uuid) == {source: libvirt.VIR_DOMAIN_RUNNING}
    assert kept_dirs(moves, uuid) == []
    (migration,) = migrations(moves, uuid)
    assert migration["status"] == "error"
    migrate = next(e for e in moves.events("vm-cold-fail") if e["Action"] == "migrate")
    assert migrate["Message"] == "Error"
    detail = moves.event("vm-cold-fail", migrate["Request ID"])
    failed = {e["event"]: e for e in detail["events"] if e["result"] == "Error"}
    assert "no space left on the destination" in failed["compute_finish_resize"]["details"]
    monkeypatch.undo()
    delete_api(moves, uuid)


def _driver(day2: Day2Cloud, host: str) -> Any:
    return day2.view.agent(host).driver


# ----------------------------------------------------------------------------- API level


def fail_on(
    monkeypatch: pytest.MonkeyPatch, day2: Day2Cloud, host: str, method: str, message: str
) -> None:
    """The agent of ``host`` fails ``method`` (an AgentEndpoint call) with ``message``."""
    from virtfleet.agent.manager import AgentEndpoint

    agent = day2.view.agent(host)
    real = getattr(AgentEndpoint, method)

    def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._agent is agent:
            raise errors.HypervisorError(message, 1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(AgentEndpoint, method, failing)


@pytest.mark.parametrize(
    ("side", "method", "event"),
    [
        ("dest", "prep_resize", None),
        ("source", "migrate_disk_and_power_off", "compute_resize_instance"),
        ("dest", "finish_resize", "compute_finish_resize"),
    ],
)
def test_each_failing_step_rolls_back_with_nothing_leaked(
    moves: Day2Cloud,
    conductor: Conductor,
    monkeypatch: pytest.MonkeyPatch,
    side: str,
    method: str,
    event: str | None,
) -> None:
    server = boot_api(moves, f"vm-step-{method}")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    fail_on(monkeypatch, moves, source if side == "source" else dest, method, f"{method} broke")
    act(moves, uuid, {"migrate": None})
    conductor.drain(timeout=30)
    shown = wait_api(moves, uuid, settled)
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == source
    assert moves.usages() == {source: SMALL, dest: ZERO}
    assert domains(moves, uuid) == {source: libvirt.VIR_DOMAIN_RUNNING}
    assert kept_dirs(moves, uuid) == []
    (migration,) = migrations(moves, uuid)
    assert migration["status"] == "error"
    record = records.get(moves.view.control.db, migration["id"])
    assert f"{method} broke" in (record.error or "")
    detail = event_detail(moves, uuid, "migrate")
    failed = {e["event"]: e["details"] for e in detail["events"] if e["result"] == "Error"}
    assert f"{method} broke" in failed["conductor_migrate_server"]
    if event is not None:
        assert f"{method} broke" in failed[event]
    monkeypatch.undo()
    delete_api(moves, uuid)


def test_a_source_that_cannot_start_the_guest_again_leaves_error_with_the_reason(
    moves: Day2Cloud, conductor: Conductor, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = boot_api(moves, "vm-lost")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    fail_on(monkeypatch, moves, dest, "finish_resize", "destination broke")
    fail_on(monkeypatch, moves, source, "finish_resize", "source broke too")
    act(moves, uuid, {"migrate": None})
    conductor.drain(timeout=30)
    shown = wait_api(moves, uuid, settled)
    assert shown["status"] == "ERROR" and "source broke too" in shown["fault"]["message"]
    assert moves.usages() == {source: SMALL, dest: ZERO}  # the source given back
    assert domains(moves, uuid) == {}
    assert len(kept_dirs(moves, uuid)) == 1  # the disk is kept for the operator
    detail = event_detail(moves, uuid, "migrate")
    failed = {e["event"]: e["details"] for e in detail["events"] if e["result"] == "Error"}
    assert "source broke too" in failed["compute_rollback_resize"]
    monkeypatch.undo()
    delete_api(moves, uuid)
    assert moves.usages() == {source: ZERO, dest: ZERO}
    assert kept_dirs(moves, uuid) == []  # the delete removes what was kept


def test_a_failed_revert_leaves_error_and_gives_back_the_source(
    moves: Day2Cloud, conductor: Conductor, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = boot_api(moves, "vm-revert-fail")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = other(source)
    act(moves, uuid, {"migrate": None})
    conductor.drain(timeout=30)
    assert wait_api(moves, uuid, settled)["status"] == "VERIFY_RESIZE"
    fail_on(monkeypatch, moves, source, "finish_resize", "source refuses the guest")
    act(moves, uuid, {"revertResize": None})
    conductor.drain(timeout=30)
    shown = wait_api(moves, uuid, settled)
    assert shown["status"] == "ERROR" and shown["OS-EXT-SRV-ATTR:host"] == source
    assert moves.usages() == {source: SMALL, dest: ZERO}
    assert domains(moves, uuid) == {}
    assert migrations(moves, uuid)[0]["status"] == "error"
    detail = event_detail(moves, uuid, "revertResize")
    (step,) = detail["events"]
    assert step["result"] == "Error" and "source refuses the guest" in step["details"]
    monkeypatch.undo()
    delete_api(moves, uuid)
    assert moves.usages() == {source: ZERO, dest: ZERO}
    assert kept_dirs(moves, uuid) == []


def test_confirm_window_and_delete_in_verify_resize_drop_the_source(
    moves: Day2Cloud, conductor: Conductor
) -> None:
    first, second = boot_api(moves, "vm-window"), boot_api(moves, "vm-deleted")
    for server in (first, second):
        act(moves, server["id"], {"migrate": None})
    conductor.drain(timeout=30)
    for server in (first, second):
        assert wait_api(moves, server["id"], settled)["status"] == "VERIFY_RESIZE"

    delete_api(moves, second["id"])  # Nova confirms on delete
    assert kept_dirs(moves, second["id"]) == []
    assert migrations(moves, second["id"])[0]["status"] == "confirmed"

    conf = moves.view.control.conf
    assert conductor.cold_moves.auto_confirm() == []  # window 0: never on its own
    conf.set_override("resize_confirm_window", 1, "compute")
    try:
        later = utcnow() + datetime.timedelta(seconds=5)
        (done,) = conductor.cold_moves.auto_confirm(now=later)
    finally:
        conf.clear_override("resize_confirm_window", "compute")
    conductor.drain(timeout=30)
    shown = wait_api(moves, first["id"], lambda s: s["status"] == "ACTIVE")
    dest = shown["OS-EXT-SRV-ATTR:host"]
    assert moves.usages() == {dest: SMALL, other(dest): ZERO}
    assert records.get(moves.view.control.db, done).status == records.CONFIRMED
    delete_api(moves, first["id"])


def test_resize_on_the_same_host_only_when_allowed(moves: Day2Cloud, conductor: Conductor) -> None:
    server = boot_api(moves, "vm-same")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    services = api(moves, "GET", "/os-services", version="2.53")["services"]
    other_service = next(s for s in services if s["host"] == other(source))
    path = f"/os-services/{other_service['id']}"
    api(moves, "PUT", path, {"status": "disabled"}, version="2.53")
    conf = moves.view.control.conf
    medium = flavor_id(moves, "day2.medium")
    try:
        act(moves, uuid, {"resize": {"flavorRef": medium}})
        conductor.drain(timeout=30)
        shown = wait_api(moves, uuid, settled)
        assert shown["status"] == "ACTIVE" and shown["flavor"]["original_name"] == "day2.small"
        error = records.get(moves.view.control.db, migrations(moves, uuid)[0]["id"]).error
        assert error and "Resize of" in error

        conf.set_override("allow_resize_to_same_host", True, "compute")
        act(moves, uuid, {"resize": {"flavorRef": medium}})
        conductor.drain(timeout=30)
        shown = wait_api(moves, uuid, settled)
        assert shown["status"] == "VERIFY_RESIZE" and shown["OS-EXT-SRV-ATTR:host"] == source
        small_and_medium = {k: SMALL[k] + MEDIUM[k] for k in SMALL}
        assert moves.usage(source) == small_and_medium  # both flavors held there
        act(moves, uuid, {"revertResize": None})
        conductor.drain(timeout=30)
        shown = wait_api(moves, uuid, settled)
        assert shown["status"] == "ACTIVE" and shown["flavor"]["original_name"] == "day2.small"
        assert moves.usage(source) == SMALL
        assert domains(moves, uuid) == {source: libvirt.VIR_DOMAIN_RUNNING}
        assert kept_dirs(moves, uuid) == []
    finally:
        conf.clear_override("allow_resize_to_same_host", "compute")
        api(moves, "PUT", path, {"status": "enabled"}, version="2.53")
    delete_api(moves, uuid)


def test_bad_requests_are_refused_naming_what_is_wrong(moves: Day2Cloud) -> None:
    server = boot_api(moves, "vm-bad")
    uuid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"resize": {"flavorRef": "nope"}}, 400, "Flavor nope could not be found"),
        ({"resize": {"flavorRef": flavor_id(moves, "day2.small")}}, 400, "must change flavor"),
        ({"resize": {}}, 400, "flavorRef"),
        ({"migrate": {"host": "nowhere"}}, 400, "Compute host nowhere could not be found"),
        ({"migrate": {"host": source}}, 400, "to current host"),
        ({"migrate": {"hots": "x"}}, 400, "hots"),
        ({"confirmResize": None}, 409, "Cannot 'confirmResize' instance"),
        ({"revertResize": None}, 409, "Cannot 'confirmResize' instance"),
    ]
    for body, status, text in cases:
        with pytest.raises(APIError) as refused:
            act(moves, uuid, body)
        assert refused.value.status == status, (body, refused.value)
        assert text in str(refused.value), (body, refused.value)
    member = {"X-Roles": "member", "X-Project-Id": server.get("project_id") or "x"}
    with pytest.raises(APIError) as forbidden:
        moves.view.client.request(
            "POST", f"/compute/v2.1/servers/{uuid}/action", {"migrate": None}, headers=member
        )
    assert forbidden.value.status == 403
    assert migrations(moves, uuid) == []
    assert show(moves, uuid)["status"] == "ACTIVE"
    delete_api(moves, uuid)
