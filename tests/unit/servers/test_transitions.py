"""The server state machine: every transition of the one table, allowed from exactly
the states written down here (independently of the table), refused from every other
with a Conflict naming the current state; applied atomically on the database."""

from __future__ import annotations

import datetime
import itertools
import pathlib
from collections.abc import Iterator

import pytest

from support.databases import fresh_database
from virtfleet import errors
from virtfleet.db import servers
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.servers import Server
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.servers import service
from virtfleet.servers import states as st

VM = (
    "building",
    "active",
    "stopped",
    "paused",
    "suspended",
    "rescued",
    "shelved",
    "shelved_offloaded",
    "error",
    "resized",
)
TASKS = (
    None,
    "scheduling",
    "spawning",
    "powering-off",
    "powering-on",
    "rebooting",
    "rebooting_hard",
    "deleting",
    "migrating",
    "pausing",
    "unpausing",
    "suspending",
    "resuming",
    "rescuing",
    "unrescuing",
    "shelving",
    "shelving_offloading",
    "unshelving",
    "rebuilding",
    "image_snapshot",
    "resize_prep",
    "resize_migrating",
    "resize_reverting",
    "resize_confirming",
)
EVERY = set(itertools.product(VM, TASKS))
POWER_TASKS = {
    "powering-off",
    "powering-on",
    "rebooting",
    "rebooting_hard",
    "pausing",
    "unpausing",
    "suspending",
    "resuming",
}
DAY2_TASKS = {
    "pausing",
    "unpausing",
    "suspending",
    "resuming",
    "rescuing",
    "unrescuing",
    "shelving",
    "shelving_offloading",
    "unshelving",
    "rebuilding",
    "image_snapshot",
}


def idle(*vm_states: str) -> set[tuple[str, str | None]]:
    return {(vm, None) for vm in vm_states}


def during(tasks: set[str], vm_states: tuple[str, ...] = VM) -> set[tuple[str, str | None]]:
    return {(vm, task) for vm in vm_states for task in tasks}


#: From which (vm_state, task_state) each transition may run (a server on a host).
ALLOWED: dict[str, set[tuple[str, str | None]]] = {
    "stop": idle("active", "error"),
    "start": idle("stopped"),
    "reboot_hard": idle("active", "stopped", "error"),
    "reboot_soft": idle("active"),
    "console_output": idle("active", "stopped", "error", "paused", "suspended", "rescued"),
    "pause": idle("active"),
    "unpause": idle("paused"),
    "suspend": idle("active"),
    "resume": idle("suspended"),
    "rescue": idle("active", "stopped", "error"),
    "unrescue": idle("rescued"),
    "shelve": idle("active", "stopped", "paused", "suspended"),
    "shelve_offload": idle("shelved"),
    "unshelve": idle("shelved", "shelved_offloaded"),
    "rebuild": idle("active", "stopped", "error"),
    "evacuate": idle("active", "stopped", "error"),
    "evacuation_ended": during({"rebuilding"}, ("active", "stopped", "error")),
    "snapshot": idle("active", "stopped", "paused", "suspended"),
    "update": {(vm, task) for vm, task in EVERY if task != "deleting"},
    "metadata": idle("active", "paused", "suspended", "stopped", "shelved", "shelved_offloaded"),
    "tags": {
        (vm, task)
        for vm, task in EVERY
        if task != "deleting"
        and vm
        in ("active", "building", "paused", "suspended", "stopped", "shelved", "shelved_offloaded")
    },
    "pause_done": during({"pausing"}, ("active",)),
    "unpause_done": during({"unpausing"}, ("paused",)),
    "suspend_done": during({"suspending"}, ("active",)),
    "resume_done": during({"resuming"}, ("suspended",)),
    "rescue_done": during({"rescuing"}, ("active", "stopped", "error")),
    "unrescue_done": during({"unrescuing"}, ("rescued",)),
    "shelve_done": during({"shelving"}, ("active", "stopped", "paused", "suspended")),
    "shelve_offload_begin": during({"shelving"}, ("active", "stopped", "paused", "suspended")),
    "shelve_offload_done": during({"shelving_offloading"}, ("shelved",)),
    "unshelve_done": during({"unshelving"}, ("shelved", "shelved_offloaded")),
    "rebuild_done": during({"rebuilding"}, ("active", "stopped", "error")),
    "rebuild_done_stopped": during({"rebuilding"}, ("active", "stopped", "error")),
    "rebuild_failed": during({"rebuilding"}, ("active", "stopped", "error")),
    "snapshot_done": during({"image_snapshot"}, ("active", "stopped", "paused", "suspended")),
    "action_failed": during(DAY2_TASKS),
    "live_migrate": idle("active", "paused"),
    "delete": EVERY,
    "schedule": during({"scheduling", "spawning"}, ("building",)),
    "spawn": during({"scheduling"}, ("building",)),
    "build_done": during({"spawning"}, ("building",)),
    "build_failed": {("building", task) for task in TASKS},
    "delete_failed": during({"deleting"}),
    "stop_done": during({"powering-off"}, ("active", "error")),
    "start_done": during({"powering-on"}, ("stopped",)),
    "reboot_done": during({"rebooting", "rebooting_hard"}, ("active", "stopped", "error")),
    "power_failed": during(POWER_TASKS),
    "guest_stopped": idle("active"),
    "guest_running": idle("stopped"),
    "guest_gone": idle("active", "stopped", "rescued"),
    "migration_progress": during({"migrating"}),
    "migration_ended": during({"migrating", "resize_prep", "resize_migrating"}),
    "migrate": idle("active", "stopped"),
    "resize": idle("active", "stopped"),
    "confirm_resize": idle("resized"),
    "revert_resize": idle("resized"),
    "resize_migrating": during({"resize_prep"}, ("active", "stopped")),
    "resize_finished": during({"resize_prep", "resize_migrating"}, ("active", "stopped")),
    "resize_confirmed": during({"resize_confirming"}, ("resized",)),
    "resize_reverted": during({"resize_reverting"}, ("resized",)),
    "resize_step_failed": during({"resize_reverting", "resize_confirming"}, ("resized",)),
    "clear_stuck_task": {(vm, task) for vm, task in EVERY if task is not None},
}

#: What each transition writes (vm_state, task_state); "same" = vm_state unchanged.
WRITES: dict[str, tuple[str, str | None]] = {
    "stop": ("same", "powering-off"),
    "start": ("same", "powering-on"),
    "reboot_hard": ("same", "rebooting_hard"),
    "reboot_soft": ("same", "rebooting"),
    "live_migrate": ("same", "migrating"),
    "delete": ("same", "deleting"),
    "schedule": ("same", "scheduling"),
    "spawn": ("same", "spawning"),
    "build_done": ("active", None),
    "build_failed": ("error", None),
    "delete_failed": ("error", None),
    "stop_done": ("stopped", None),
    "start_done": ("active", None),
    "reboot_done": ("active", None),
    "power_failed": ("same", None),
    "guest_stopped": ("stopped", None),
    "guest_running": ("active", None),
    "guest_gone": ("error", None),
    "migration_progress": ("same", "migrating"),
    "migration_ended": ("same", None),
    "migrate": ("same", "resize_prep"),
    "resize": ("same", "resize_prep"),
    "confirm_resize": ("same", "resize_confirming"),
    "revert_resize": ("same", "resize_reverting"),
    "resize_migrating": ("same", "resize_migrating"),
    "resize_finished": ("resized", None),
    "resize_confirmed": ("same", None),
    "resize_reverted": ("same", None),
    "resize_step_failed": ("error", None),
    "clear_stuck_task": ("same", None),
    "pause": ("same", "pausing"),
    "unpause": ("same", "unpausing"),
    "suspend": ("same", "suspending"),
    "resume": ("same", "resuming"),
    "rescue": ("same", "rescuing"),
    "unrescue": ("same", "unrescuing"),
    "shelve": ("same", "shelving"),
    "shelve_offload": ("same", "shelving_offloading"),
    "unshelve": ("same", "unshelving"),
    "rebuild": ("same", "rebuilding"),
    "evacuate": ("same", "rebuilding"),
    "evacuation_ended": ("same", None),
    "snapshot": ("same", "image_snapshot"),
    "pause_done": ("paused", None),
    "unpause_done": ("active", None),
    "suspend_done": ("suspended", None),
    "resume_done": ("active", None),
    "rescue_done": ("rescued", None),
    "unrescue_done": ("active", None),
    "shelve_done": ("shelved", None),
    "shelve_offload_begin": ("shelved", "shelving_offloading"),
    "shelve_offload_done": ("shelved_offloaded", None),
    "unshelve_done": ("active", None),
    "rebuild_done": ("active", None),
    "rebuild_done_stopped": ("stopped", None),
    "rebuild_failed": ("error", None),
    "snapshot_done": ("same", None),
    "action_failed": ("same", None),
}


def test_the_table_has_exactly_these_transitions() -> None:
    checks_only = {"console_output", "update", "metadata", "tags"}
    assert set(st.TRANSITIONS) == set(ALLOWED) == set(WRITES) | checks_only


UUID = "7b0e2c3a-4c1d-4f7e-9a51-0d6b3f1e2a90"
NOW = datetime.datetime(2026, 1, 1)


def server_in(vm_state: str, task_state: str | None, host: str | None = "kvm-a") -> Server:
    return Server(
        uuid=UUID,
        name="vm",
        project_id="p",
        user_id="u",
        flavor={},
        image_ref="img",
        image={},
        guest_request=GuestRequest(),
        vm_state=vm_state,
        task_state=task_state,
        power_state=0,
        host=host,
        node=host,
        fault=None,
        metadata={},
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.fixture
def db(tmp_path: pathlib.Path, db_backend: str) -> Iterator[Database]:
    import virtfleet.db.models.compute  # noqa: F401  (registers the servers table)

    with fresh_database(db_backend, tmp_path) as database:
        Base.metadata.create_all(database.engine)
        yield database


def new_server(db: Database, vm_state: str, task_state: str | None, host: str | None) -> str:
    server = servers.create(
        db,
        name="vm",
        flavor={},
        image_ref="img",
        image={},
        guest_request=GuestRequest(),
        project_id="p",
        user_id="u",
    )
    servers.update(db, server.uuid, vm_state=vm_state, task_state=task_state, host=host)
    return server.uuid


@pytest.mark.parametrize("transition", sorted(ALLOWED))
def test_each_transition_is_allowed_and_refused_from_exactly_its_states(
    transition: str,
) -> None:
    for vm_state, task_state in sorted(EVERY, key=str):
        server = server_in(vm_state, task_state)
        if (vm_state, task_state) in ALLOWED[transition]:
            service.check(server, transition)
            continue
        with pytest.raises(service.InvalidServerState) as refused:
            service.check(server, transition)
        message = refused.value.message
        assert f"vm_state {vm_state}" in message, (transition, vm_state, task_state)
        assert server.uuid in message and st.TRANSITIONS[transition].action in message
        assert isinstance(refused.value, errors.Conflict)
        assert (refused.value.vm_state, refused.value.task_state) == (vm_state, task_state)


def test_refusal_messages_are_novas() -> None:
    stopped = server_in("stopped", "powering-on")
    with pytest.raises(service.InvalidServerState) as refused:
        service.check(stopped, "stop")
    assert refused.value.message == (
        f"Cannot 'os-stop' instance {stopped.uuid} while it is in vm_state stopped, "
        "task_state powering-on."
    )
    with pytest.raises(service.InvalidServerState) as soft:
        service.check(server_in("stopped", None), "reboot_soft")
    assert soft.value.message == (
        f"Cannot soft 'reboot' instance {stopped.uuid} while it is in vm_state stopped; "
        "use a HARD reboot."
    )


@pytest.mark.parametrize(
    "transition", sorted(name for name, row in st.TRANSITIONS.items() if row.needs_host)
)
def test_actions_on_a_guest_need_a_host(transition: str) -> None:
    vm_state, task_state = sorted(ALLOWED[transition], key=str)[0]
    with pytest.raises(service.InvalidServerState) as refused:
        service.check(server_in(vm_state, task_state, host=None), transition)
    assert refused.value.message.endswith("it is not on a host.")


def test_resume_lets_the_conductor_pick_up_a_task_the_api_began() -> None:
    begun = server_in("active", "powering-off")
    with pytest.raises(service.InvalidServerState):
        service.check(begun, "stop")
    service.check(begun, "stop", resume=True)
    with pytest.raises(service.InvalidServerState):  # a delete outranks it
        service.check(server_in("active", "deleting"), "stop", resume=True)


@pytest.mark.parametrize("transition", sorted(WRITES))
def test_each_allowed_transition_writes_its_states(db: Database, transition: str) -> None:
    vm_state, task_state = sorted(ALLOWED[transition], key=str)[0]
    uuid = new_server(db, vm_state, task_state, "kvm-a")
    written = service.request(db, uuid, transition, power_state=7)
    want_vm, want_task = WRITES[transition]
    assert written.vm_state == (vm_state if want_vm == "same" else want_vm)
    assert written.task_state == want_task
    assert servers.get(db, uuid).power_state == 7


def test_a_refused_transition_writes_nothing(db: Database) -> None:
    uuid = new_server(db, "active", "deleting", "kvm-a")
    before = servers.get(db, uuid)
    with pytest.raises(service.InvalidServerState):
        service.request(db, uuid, "build_done", power_state=1)
    after = servers.get(db, uuid)
    assert (after.vm_state, after.task_state, after.power_state, after.updated_at) == (
        before.vm_state,
        before.task_state,
        before.power_state,
        before.updated_at,
    )


def test_the_check_sees_the_server_as_it_is_at_the_write(db: Database) -> None:
    uuid = new_server(db, "active", None, "kvm-a")
    read_earlier = servers.get(db, uuid)
    service.check(read_earlier, "stop")  # the API's early check passes
    service.request(db, uuid, "delete")  # then a delete comes first
    with pytest.raises(service.InvalidServerState) as refused:
        service.request(db, uuid, "stop")
    assert "task_state deleting" in refused.value.message


def test_a_check_only_transition_cannot_be_written(db: Database) -> None:
    uuid = new_server(db, "active", None, "kvm-a")
    with pytest.raises(ValueError, match="check only"):
        service.request(db, uuid, "console_output")


def test_a_missing_server_is_not_found(db: Database) -> None:
    with pytest.raises(errors.NotFound):
        service.request(db, "no-such-server", "delete")
