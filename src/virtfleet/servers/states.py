"""Server states in Nova's vocabulary, the one table of their transitions, and the
pure decisions about them.

``vm_state`` is where a server is, ``task_state`` what is being done to it,
``power_state`` what the hypervisor last said (Nova's integers). Every change of
``vm_state`` or ``task_state`` after a server is created is a row of
:data:`TRANSITIONS` (which states it may start from, what it writes), applied by
:mod:`virtfleet.servers.service`; orchestration code asks the functions here what to
do, it never decides inline.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

# vm_state
BUILDING = "building"
ACTIVE = "active"
STOPPED = "stopped"
PAUSED = "paused"
SUSPENDED = "suspended"
RESCUED = "rescued"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"
RESIZED = "resized"  # moved (cold migration or resize), waiting for confirm or revert
ERROR = "error"
DELETED = "deleted"

# task_state
SCHEDULING = "scheduling"
SPAWNING = "spawning"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"
DELETING = "deleting"
MIGRATING = "migrating"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"
SHELVING = "shelving"
SHELVING_OFFLOADING = "shelving_offloading"
UNSHELVING = "unshelving"
REBUILDING = "rebuilding"
IMAGE_SNAPSHOT = "image_snapshot"
RESIZE_PREP = "resize_prep"  # a cold migration or resize chooses and readies its host
RESIZE_MIGRATING = "resize_migrating"  # the guest is stopped and its disk moves
RESIZE_REVERTING = "resize_reverting"
RESIZE_CONFIRMING = "resize_confirming"


class PowerState(enum.IntEnum):
    """Nova's power_state values."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


#: The driver's power-state words (libvirt domain states) -> Nova's integers.
DRIVER_POWER_STATES: dict[str, PowerState] = {
    "nostate": PowerState.NOSTATE,
    "running": PowerState.RUNNING,
    "blocked": PowerState.RUNNING,
    "paused": PowerState.PAUSED,
    "shutdown": PowerState.SHUTDOWN,
    "shutoff": PowerState.SHUTDOWN,
    "crashed": PowerState.CRASHED,
    "pmsuspended": PowerState.SUSPENDED,
    "suspended": PowerState.SUSPENDED,
}


def power_state_of(driver_state: str) -> PowerState:
    """Nova's power state for a driver state word (unknown words: NOSTATE)."""
    return DRIVER_POWER_STATES.get(driver_state.lower(), PowerState.NOSTATE)


def after_power_event(vm_state: str, task_state: str | None, power: PowerState) -> dict[str, Any]:
    """What to write when the hypervisor reports ``power`` on its own.

    The power state is always recorded. While a task runs, that task decides the
    vm_state; otherwise a guest that stopped or crashed makes an active server
    stopped (SHUTOFF), and one that runs again makes a stopped server active. A
    rescued server stays RESCUE whatever its rescue guest does (as Nova's power sync,
    which has no rule for it): its domain holds the rescue definition, so SHUTOFF
    would start the rescue system again; unrescue boots it from its own disk."""
    updates: dict[str, Any] = {"power_state": int(power)}
    if task_state is not None:
        return updates
    if vm_state == ACTIVE and power in (PowerState.SHUTDOWN, PowerState.CRASHED):
        updates["vm_state"] = STOPPED
    elif vm_state == STOPPED and power == PowerState.RUNNING:
        updates["vm_state"] = ACTIVE
    return updates


#: The transition a power event asks for, by the vm_state it decides on.
POWER_EVENT_TRANSITIONS = {STOPPED: "guest_stopped", ACTIVE: "guest_running"}


@dataclasses.dataclass(frozen=True)
class PowerAction:
    """A power action: the transitions that begin and end it, and the power state
    once it worked."""

    begin: str
    done: str
    power_state: PowerState


POWER_ACTIONS: dict[str, PowerAction] = {
    "power_off": PowerAction("stop", "stop_done", PowerState.SHUTDOWN),
    "power_on": PowerAction("start", "start_done", PowerState.RUNNING),
    "reboot_hard": PowerAction("reboot_hard", "reboot_done", PowerState.RUNNING),
    "reboot_soft": PowerAction("reboot_soft", "reboot_done", PowerState.RUNNING),
    "pause": PowerAction("pause", "pause_done", PowerState.PAUSED),
    "unpause": PowerAction("unpause", "unpause_done", PowerState.RUNNING),
    "suspend": PowerAction("suspend", "suspend_done", PowerState.SHUTDOWN),
    "resume": PowerAction("resume", "resume_done", PowerState.RUNNING),
}


# ----------------------------------------------------------------- transitions


@dataclasses.dataclass(frozen=True)
class Transition:
    """One row of the state machine: from which states ``action`` may run, and what
    it writes. A refused transition is a 409 naming the current state (Nova's
    "Cannot 'X' instance ... while it is in vm_state Y")."""

    action: str  # as the 409 names it, e.g. "os-stop"
    vm_states: frozenset[str]  # allowed from
    task_states: frozenset[str | None]  # allowed from (None: no task running)
    vm_state: str | None = None  # written (None: unchanged)
    task_state: str | None = None  # written (always: None ends the task)
    needs_host: bool = False  # refused while the server is on no host
    writes: bool = True  # False: a check only (the action changes no state)
    # A narrower rule checked after the others: (vm_states, message when outside).
    narrower: tuple[frozenset[str], str] | None = None


EVERY_VM_STATE = frozenset(
    {BUILDING, ACTIVE, STOPPED, PAUSED, SUSPENDED, RESCUED, SHELVED, SHELVED_OFFLOADED, ERROR,
     RESIZED}
)  # fmt: skip
#: Tasks of the in-place actions (their workflows end them, or ``action_failed``).
DAY2_TASKS: frozenset[str | None] = frozenset(
    {PAUSING, UNPAUSING, SUSPENDING, RESUMING, RESCUING, UNRESCUING, SHELVING,
     SHELVING_OFFLOADING, UNSHELVING, REBUILDING, IMAGE_SNAPSHOT}
)  # fmt: skip
#: Tasks of a cold migration or resize before it lands (its workflow ends them).
COLD_MOVE_TASKS: frozenset[str | None] = frozenset({RESIZE_PREP, RESIZE_MIGRATING})
#: Tasks of a move's workflow: ``migration_ended`` ends them where the guest stayed.
MOVE_TASKS: frozenset[str | None] = frozenset({MIGRATING}) | COLD_MOVE_TASKS
#: Where a cold migration or resize may start (Nova's states for them).
RESIZE_FROM = frozenset({ACTIVE, STOPPED})
EVERY_TASK_STATE: frozenset[str | None] = frozenset(
    {None, SCHEDULING, SPAWNING, POWERING_OFF, POWERING_ON, REBOOTING, REBOOTING_HARD,
     DELETING, MIGRATING, RESIZE_PREP, RESIZE_MIGRATING, RESIZE_REVERTING, RESIZE_CONFIRMING}
) | DAY2_TASKS  # fmt: skip
NO_TASK: frozenset[str | None] = frozenset({None})
POWER_TASKS: frozenset[str | None] = frozenset(
    {POWERING_OFF, POWERING_ON, REBOOTING, REBOOTING_HARD, PAUSING, UNPAUSING, SUSPENDING,
     RESUMING}
)  # fmt: skip
#: Where a snapshot or a rebuild may start (Nova's states for them).
SNAPSHOT_FROM = frozenset({ACTIVE, STOPPED, PAUSED, SUSPENDED})
REBUILD_FROM = frozenset({ACTIVE, STOPPED, ERROR})
EVACUATE_FROM = REBUILD_FROM  # Nova's states for an evacuation (its host is down)
SHELVE_FROM = frozenset({ACTIVE, STOPPED, PAUSED, SUSPENDED})

#: Every state change after create, by name. The Compute API begins tasks (first
#: group); the conductor moves them on and ends them. A delete outranks any task, and
#: no other transition starts from ``deleting``: work that ends after a delete was
#: asked for leaves the server to the delete.
TRANSITIONS: dict[str, Transition] = {
    # Compute API
    "stop": Transition("os-stop", frozenset({ACTIVE, ERROR}), NO_TASK,
                       task_state=POWERING_OFF, needs_host=True),
    "start": Transition("os-start", frozenset({STOPPED}), NO_TASK,
                        task_state=POWERING_ON, needs_host=True),
    "reboot_hard": Transition("reboot", frozenset({ACTIVE, STOPPED, ERROR}), NO_TASK,
                              task_state=REBOOTING_HARD, needs_host=True),
    "reboot_soft": Transition(
        "reboot", frozenset({ACTIVE, STOPPED, ERROR}), NO_TASK,
        task_state=REBOOTING, needs_host=True,
        narrower=(frozenset({ACTIVE}), "Cannot soft 'reboot' instance {uuid} while it is "
                  "in vm_state {vm_state}; use a HARD reboot."),
    ),
    "console_output": Transition("os-getConsoleOutput",
                                 frozenset({ACTIVE, STOPPED, ERROR, PAUSED, SUSPENDED,
                                            RESCUED}),
                                 NO_TASK, needs_host=True, writes=False),
    "live_migrate": Transition("os-migrateLive", frozenset({ACTIVE, PAUSED}), NO_TASK,
                               task_state=MIGRATING, needs_host=True),
    "migrate": Transition("migrate", RESIZE_FROM, NO_TASK, task_state=RESIZE_PREP,
                          needs_host=True),
    "resize": Transition("resize", RESIZE_FROM, NO_TASK, task_state=RESIZE_PREP,
                         needs_host=True),
    "confirm_resize": Transition("confirmResize", frozenset({RESIZED}), NO_TASK,
                                 task_state=RESIZE_CONFIRMING, needs_host=True),
    "revert_resize": Transition("revertResize", frozenset({RESIZED}), NO_TASK,
                                task_state=RESIZE_REVERTING, needs_host=True),
    "delete": Transition("delete", EVERY_VM_STATE, EVERY_TASK_STATE, task_state=DELETING),
    "pause": Transition("pause", frozenset({ACTIVE}), NO_TASK, task_state=PAUSING,
                        needs_host=True),
    "unpause": Transition("unpause", frozenset({PAUSED}), NO_TASK, task_state=UNPAUSING,
                          needs_host=True),
    "suspend": Transition("suspend", frozenset({ACTIVE}), NO_TASK, task_state=SUSPENDING,
                          needs_host=True),
    "resume": Transition("resume", frozenset({SUSPENDED}), NO_TASK, task_state=RESUMING,
                         needs_host=True),
    "rescue": Transition("rescue", frozenset({ACTIVE, STOPPED, ERROR}), NO_TASK,
                         task_state=RESCUING, needs_host=True),
    "unrescue": Transition("unrescue", frozenset({RESCUED}), NO_TASK, task_state=UNRESCUING,
                           needs_host=True),
    "shelve": Transition("shelve", SHELVE_FROM, NO_TASK, task_state=SHELVING, needs_host=True),
    "shelve_offload": Transition("shelveOffload", frozenset({SHELVED}), NO_TASK,
                                 task_state=SHELVING_OFFLOADING),
    "unshelve": Transition("unshelve", frozenset({SHELVED, SHELVED_OFFLOADED}), NO_TASK,
                           task_state=UNSHELVING),
    "rebuild": Transition("rebuild", REBUILD_FROM, NO_TASK, task_state=REBUILDING,
                          needs_host=True),
    "evacuate": Transition("evacuate", EVACUATE_FROM, NO_TASK, task_state=REBUILDING,
                           needs_host=True),
    "snapshot": Transition("createImage", SNAPSHOT_FROM, NO_TASK, task_state=IMAGE_SNAPSHOT,
                           needs_host=True),
    # checks only: server update, metadata and tags (Nova's states for them)
    "metadata": Transition("update metadata",
                           frozenset({ACTIVE, PAUSED, SUSPENDED, STOPPED, SHELVED,
                                      SHELVED_OFFLOADED}), NO_TASK, writes=False),
    "tags": Transition("update tags",
                       frozenset({ACTIVE, BUILDING, PAUSED, SUSPENDED, STOPPED, SHELVED,
                                  SHELVED_OFFLOADED}), EVERY_TASK_STATE - {DELETING},
                       writes=False),
    "update": Transition("update", EVERY_VM_STATE, EVERY_TASK_STATE - {DELETING},
                         writes=False),
    # conductor: boot
    "schedule": Transition("build", frozenset({BUILDING}), frozenset({SCHEDULING, SPAWNING}),
                           task_state=SCHEDULING),
    "spawn": Transition("build", frozenset({BUILDING}), frozenset({SCHEDULING}),
                        task_state=SPAWNING),
    "build_done": Transition("build", frozenset({BUILDING}), frozenset({SPAWNING}),
                             vm_state=ACTIVE),
    "build_failed": Transition("build", frozenset({BUILDING}), EVERY_TASK_STATE,
                               vm_state=ERROR),
    # conductor: delete (its success soft-deletes the row: db.servers.delete)
    "delete_failed": Transition("delete", EVERY_VM_STATE, frozenset({DELETING}),
                                vm_state=ERROR),
    # conductor: power actions and what the hypervisor reports on its own
    "stop_done": Transition("os-stop", frozenset({ACTIVE, ERROR}), frozenset({POWERING_OFF}),
                            vm_state=STOPPED),
    "start_done": Transition("os-start", frozenset({STOPPED}), frozenset({POWERING_ON}),
                             vm_state=ACTIVE),
    "reboot_done": Transition("reboot", frozenset({ACTIVE, STOPPED, ERROR}),
                              frozenset({REBOOTING, REBOOTING_HARD}), vm_state=ACTIVE),
    "power_failed": Transition("power action", EVERY_VM_STATE, POWER_TASKS),
    "pause_done": Transition("pause", frozenset({ACTIVE}), frozenset({PAUSING}),
                             vm_state=PAUSED),
    "unpause_done": Transition("unpause", frozenset({PAUSED}), frozenset({UNPAUSING}),
                               vm_state=ACTIVE),
    "suspend_done": Transition("suspend", frozenset({ACTIVE}), frozenset({SUSPENDING}),
                               vm_state=SUSPENDED),
    "resume_done": Transition("resume", frozenset({SUSPENDED}), frozenset({RESUMING}),
                              vm_state=ACTIVE),
    # conductor: the other in-place actions
    "rescue_done": Transition("rescue", frozenset({ACTIVE, STOPPED, ERROR}),
                              frozenset({RESCUING}), vm_state=RESCUED),
    "unrescue_done": Transition("unrescue", frozenset({RESCUED}), frozenset({UNRESCUING}),
                                vm_state=ACTIVE),
    "shelve_done": Transition("shelve", SHELVE_FROM, frozenset({SHELVING}), vm_state=SHELVED),
    # shelved with shelved_offload_time 0: the offload follows at once, in the same task
    "shelve_offload_begin": Transition("shelveOffload", SHELVE_FROM, frozenset({SHELVING}),
                                       vm_state=SHELVED, task_state=SHELVING_OFFLOADING),
    "shelve_offload_done": Transition("shelveOffload", frozenset({SHELVED}),
                                      frozenset({SHELVING_OFFLOADING}),
                                      vm_state=SHELVED_OFFLOADED),
    "unshelve_done": Transition("unshelve", frozenset({SHELVED, SHELVED_OFFLOADED}),
                                frozenset({UNSHELVING}), vm_state=ACTIVE),
    "rebuild_done": Transition("rebuild", REBUILD_FROM, frozenset({REBUILDING}),
                               vm_state=ACTIVE),
    "rebuild_done_stopped": Transition("rebuild", REBUILD_FROM, frozenset({REBUILDING}),
                                       vm_state=STOPPED),
    "rebuild_failed": Transition("rebuild", REBUILD_FROM, frozenset({REBUILDING}),
                                 vm_state=ERROR),
    "snapshot_done": Transition("createImage", SNAPSHOT_FROM, frozenset({IMAGE_SNAPSHOT})),
    # a failed in-place action: its task ends, the vm_state stays
    "action_failed": Transition("action", EVERY_VM_STATE, DAY2_TASKS),
    "guest_stopped": Transition("power event", frozenset({ACTIVE}), NO_TASK,
                                vm_state=STOPPED),
    "guest_running": Transition("power event", frozenset({STOPPED}), NO_TASK,
                                vm_state=ACTIVE),
    # conductor: the host's agent lists no such guest and its hypervisor has none (a
    # rescued guest runs in its own domain, from the rescue definition: the same)
    "guest_gone": Transition("reconcile", frozenset({ACTIVE, STOPPED, RESCUED}), NO_TASK,
                             vm_state=ERROR),
    # conductor: live migration (progress keeps the task fresh for stuck recovery)
    "migration_progress": Transition("os-migrateLive", EVERY_VM_STATE,
                                     frozenset({MIGRATING}), task_state=MIGRATING),
    "migration_ended": Transition("os-migrateLive", EVERY_VM_STATE, MOVE_TASKS),
    # conductor: evacuation (the vm_state it lands in is written with it: active, or
    # stopped as the guest was or as the microversion asked; a failure keeps it)
    "evacuation_ended": Transition("evacuate", EVACUATE_FROM, frozenset({REBUILDING})),
    # conductor: cold migration and resize (the vm_state after confirm or revert is
    # written with the transition: active or stopped, as the guest's power was)
    "resize_migrating": Transition("migrate", RESIZE_FROM, frozenset({RESIZE_PREP}),
                                   task_state=RESIZE_MIGRATING),
    "resize_finished": Transition("migrate", RESIZE_FROM, COLD_MOVE_TASKS, vm_state=RESIZED),
    "resize_confirmed": Transition("confirmResize", frozenset({RESIZED}),
                                   frozenset({RESIZE_CONFIRMING})),
    "resize_reverted": Transition("revertResize", frozenset({RESIZED}),
                                  frozenset({RESIZE_REVERTING})),
    "resize_step_failed": Transition("resize", frozenset({RESIZED}),
                                     frozenset({RESIZE_REVERTING, RESIZE_CONFIRMING}),
                                     vm_state=ERROR),
    # conductor: recovery of a task whose workflow died
    "clear_stuck_task": Transition("recovery", EVERY_VM_STATE, EVERY_TASK_STATE - NO_TASK),
}  # fmt: skip

GENERIC_REFUSAL = (
    "Cannot '{action}' instance {uuid} while it is in vm_state {vm_state}, task_state {task_state}."
)
NO_HOST_REFUSAL = "Cannot '{action}' instance {uuid}: it is not on a host."


def refusal(
    name: str, uuid: str, vm_state: str, task_state: str | None, host: str | None
) -> str | None:
    """Why transition ``name`` may not run on a server in this state (None: it may)."""
    row = TRANSITIONS[name]
    facts = {"action": row.action, "uuid": uuid, "vm_state": vm_state, "task_state": task_state}
    if vm_state not in row.vm_states or task_state not in row.task_states:
        return GENERIC_REFUSAL.format(**facts)
    if row.needs_host and not host:
        return NO_HOST_REFUSAL.format(**facts)
    if row.narrower is not None and vm_state not in row.narrower[0]:
        return row.narrower[1].format(**facts)
    return None


def writes(name: str) -> dict[str, Any]:
    """The state fields transition ``name`` writes."""
    row = TRANSITIONS[name]
    if not row.writes:
        return {}
    fields: dict[str, Any] = {"task_state": row.task_state}
    if row.vm_state is not None:
        fields["vm_state"] = row.vm_state
    return fields


def should_retry_build(attempts_made: int, max_attempts: int) -> bool:
    """Whether a boot that failed on a host may try another one."""
    return attempts_made < max_attempts


BUILD_INTERRUPTED = "Build was interrupted: the control plane stopped while building the server."


def build_failure_message(failures: list[tuple[str, str]], no_host_reason: str | None) -> str:
    """The fault message of a boot that ended in ERROR.

    With no hypervisor failure, the scheduler's explanation; otherwise the last
    hypervisor's own message (the most specific thing we know), naming the host."""
    if not failures:
        return no_host_reason or "No valid host was found."
    host, message = failures[-1]
    if len(failures) == 1:
        return f"Build failed on host {host}: {message}"
    tried = ", ".join(h for h, _ in failures)
    return f"Build failed on {len(failures)} hosts ({tried}); last error on {host}: {message}"


def build_failure_details(failures: list[tuple[str, str]], no_host_reason: str | None) -> str:
    """Every host's error (and why no further host was tried), one per line."""
    lines = [f"{host}: {message}" for host, message in failures]
    if failures and no_host_reason:
        lines.append(f"no further host: {no_host_reason}")
    return "\n".join(lines)


#: What to do with a server whose task made no progress for too long (its workflow
#: died with the process that ran it): by task state.
STUCK_TASK_RECOVERY: dict[str, str] = {
    SCHEDULING: "fail_build",
    SPAWNING: "fail_build",
    DELETING: "delete",
    POWERING_OFF: "clear_task",
    POWERING_ON: "clear_task",
    REBOOTING: "clear_task",
    REBOOTING_HARD: "clear_task",
    MIGRATING: "recover_migration",  # the migration's own recovery finishes or undoes it
}


def stuck_task_recovery(vm_state: str, task_state: str | None) -> str | None:
    """``fail_build``, ``delete``, ``clear_task``, ``recover_migration`` or None
    (nothing to recover)."""
    if task_state is None:
        return None
    if vm_state == BUILDING and task_state != DELETING:  # a delete outranks the build
        return "fail_build"
    return STUCK_TASK_RECOVERY.get(task_state, "clear_task")
