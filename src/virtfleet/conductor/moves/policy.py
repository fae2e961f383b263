"""Pure decisions of the live-migration workflow, kept out of the orchestration loop:
the status a failure ends in, the final refusal message, when to abort for time."""

from __future__ import annotations

import libvirt

from virtfleet import errors
from virtfleet.db import migration_records as records

ABORTED_CODES = frozenset({libvirt.VIR_ERR_OPERATION_ABORTED})


class MigrationCancelled(errors.Conflict):
    """The migration was aborted before it started copying."""


def failure_status(exc: BaseException, abort_requested: bool) -> str:
    """``cancelled`` for an abort (by the user, or the libvirt job aborted), else
    ``failed``."""
    if abort_requested or isinstance(exc, MigrationCancelled):
        return records.CANCELLED
    if isinstance(exc, errors.HypervisorError) and exc.code in ABORTED_CODES:
        return records.CANCELLED
    return records.FAILED


#: migration_type -> how messages name the move.
MOVE_NAMES = {
    records.LIVE_MIGRATION: "Live migration",
    records.MIGRATION: "Cold migration",
    records.RESIZE: "Resize",
    records.EVACUATION: "Evacuation",
}


def refusal_message(
    instance_uuid: str,
    refusals: list[tuple[str, str]],
    no_more_hosts: str | None,
    what: str = "Live migration",
) -> str:
    """Why no destination took the guest: each refused host with its reason, then why
    no further host was tried."""
    if not refusals:
        return f"{what} of {instance_uuid}: {no_more_hosts or 'no valid host found'}"
    lines = "; ".join(f"{host}: {reason}" for host, reason in refusals)
    tail = f"; no further host: {no_more_hosts}" if no_more_hosts else ""
    noun = "host" if len(refusals) == 1 else "hosts"
    return f"{what} of {instance_uuid}: {len(refusals)} {noun} refused — {lines}{tail}"


def should_abort_for_time(elapsed: float, timeout: float) -> bool:
    """A migration running longer than ``timeout`` seconds is aborted (rolled back)."""
    return timeout > 0 and elapsed > timeout


def progress_fields(progress: dict[str, int]) -> dict[str, int]:
    """Agent progress -> migration record columns."""
    names = (
        "memory_total",
        "memory_processed",
        "memory_remaining",
        "disk_total",
        "disk_processed",
        "disk_remaining",
    )
    return {name: int(progress.get(name, 0) or 0) for name in names}
