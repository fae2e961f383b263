"""Server states in Nova's vocabulary, and the pure decisions about them.

``vm_state`` is where a server is, ``task_state`` what is being done to it,
``power_state`` what the hypervisor last said (Nova's integers). Orchestration code
asks the functions here what to write; it never decides inline.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

# vm_state
BUILDING = "building"
ACTIVE = "active"
STOPPED = "stopped"
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
    stopped (SHUTOFF), and one that runs again makes a stopped server active."""
    updates: dict[str, Any] = {"power_state": int(power)}
    if task_state is not None:
        return updates
    if vm_state == ACTIVE and power in (PowerState.SHUTDOWN, PowerState.CRASHED):
        updates["vm_state"] = STOPPED
    elif vm_state == STOPPED and power == PowerState.RUNNING:
        updates["vm_state"] = ACTIVE
    return updates


@dataclasses.dataclass(frozen=True)
class PowerAction:
    """A power action: its task state, and the server's state once it worked."""

    task_state: str
    vm_state: str
    power_state: PowerState


POWER_ACTIONS: dict[str, PowerAction] = {
    "power_off": PowerAction(POWERING_OFF, STOPPED, PowerState.SHUTDOWN),
    "power_on": PowerAction(POWERING_ON, ACTIVE, PowerState.RUNNING),
    "reboot_hard": PowerAction(REBOOTING_HARD, ACTIVE, PowerState.RUNNING),
    "reboot_soft": PowerAction(REBOOTING, ACTIVE, PowerState.RUNNING),
}


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
    if vm_state == BUILDING:
        return "fail_build"
    return STUCK_TASK_RECOVERY.get(task_state, "clear_task")
