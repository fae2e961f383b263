"""A guest that dies in its first seconds is a failed spawn, not a SHUTOFF server.

``virDomainCreate`` returns once QEMU runs; a guest whose firmware or kernel gives up at
once (an s390x IPL that finds nothing to load, a kernel panic with ``on_crash=destroy``)
stops a moment later. :func:`wait_settled` watches the domain for ``[libvirt]
spawn_settle_seconds`` and turns such an early stop into a HypervisorError carrying
libvirt's state reason and the last lines the guest wrote on its console.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import libvirt

from virtfleet import errors
from virtfleet.virt.hypervisor import Domain

POLL_SECONDS = 0.1
CONSOLE_TAIL_LINES = 3
CONSOLE_TAIL_BYTES = 4096
CONSOLE_TAIL_CHARS = 400

RUNNING_STATES = frozenset({libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED})

STATE_NAMES: dict[int, str] = {
    libvirt.VIR_DOMAIN_NOSTATE: "no state",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutting down",
    libvirt.VIR_DOMAIN_SHUTOFF: "shut off",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "suspended",
}

SHUTOFF_REASONS: dict[int, str] = {
    libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN: "unknown",
    libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN: "the guest shut itself down",
    libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED: "destroyed",
    libvirt.VIR_DOMAIN_SHUTOFF_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_SHUTOFF_FAILED: "failed to start",
    libvirt.VIR_DOMAIN_SHUTOFF_DAEMON: "stopped by the daemon",
}

CRASHED_REASONS: dict[int, str] = {
    libvirt.VIR_DOMAIN_CRASHED_UNKNOWN: "unknown",
    libvirt.VIR_DOMAIN_CRASHED_PANICKED: "guest panicked",
}


def describe_state(state: int, reason: int) -> str:
    """``shut off (crashed)``: libvirt's state and reason in words."""
    name = STATE_NAMES.get(state, f"state {state}")
    reasons = {libvirt.VIR_DOMAIN_SHUTOFF: SHUTOFF_REASONS}.get(state, {})
    if state == libvirt.VIR_DOMAIN_CRASHED:
        reasons = CRASHED_REASONS
    return f"{name} ({reasons.get(reason, f'reason {reason}')})"


def console_tail(path: str | None) -> str:
    """The last few non-empty console lines, joined with `` | `` ("" without output)."""
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - CONSOLE_TAIL_BYTES))
        text = handle.read().decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-CONSOLE_TAIL_LINES:])[-CONSOLE_TAIL_CHARS:]


def wait_settled(
    domain: Domain,
    seconds: float,
    console_log: str | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Return once ``domain`` has kept running for ``seconds``; raise HypervisorError
    (libvirt's state reason + console tail) as soon as it is not running."""
    deadline = clock() + seconds
    while True:
        try:
            state, reason = (int(v) for v in domain.state()[:2])
        except libvirt.libvirtError as exc:
            raise errors.HypervisorError(
                f"guest state after start: {exc.get_error_message()}", exc.get_error_code()
            ) from exc
        if state not in RUNNING_STATES:
            raise errors.HypervisorError(_stopped_message(seconds, state, reason, console_log))
        now = clock()
        if now >= deadline:
            return
        sleep(min(POLL_SECONDS, deadline - now))


def _stopped_message(seconds: float, state: int, reason: int, console_log: str | None) -> str:
    message = (
        f"the guest stopped within {seconds:g} s of starting; "
        f"libvirt reports it {describe_state(state, reason)}"
    )
    tail = console_tail(console_log)
    return f"{message}; last console output: {tail}" if tail else f"{message}; no console output"
