"""Run a move: the one sequence of shared steps every :class:`MoveFlow` goes through
(choose and claim a destination, prepare, transfer, then finish or roll back)."""

from __future__ import annotations

import logging
from typing import TypeVar

from virtfleet import errors
from virtfleet.conductor.moves import finish, prepare, retry
from virtfleet.conductor.moves.flow import MoveFlow
from virtfleet.conductor.moves.policy import MigrationCancelled
from virtfleet.conductor.moves.services import Services
from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.db import migration_records as records
from virtfleet.scheduler.manager import Selection
from virtfleet.servers import actions

LOG = logging.getLogger(__name__)

DataT = TypeVar("DataT")


#: migration_type -> (the instance action, the conductor's event), Nova's names.
MOVE_EVENTS = {
    records.LIVE_MIGRATION: (actions.LIVE_MIGRATION, "conductor_live_migrate_instance"),
    records.MIGRATION: (actions.MIGRATE, "conductor_migrate_server"),
    records.RESIZE: (actions.RESIZE, "conductor_migrate_server"),
    records.EVACUATION: (actions.EVACUATE, "conductor_rebuild_server"),
}
#: How a move that worked leaves its record (an evacuation's dead source is cleaned
#: later, a cold move waits for confirm).
SUCCEEDED = frozenset({records.COMPLETED, records.FINISHED, records.DONE})


def run_move(flow: MoveFlow[DataT], svc: Services, tracker: MoveTracker) -> None:
    """Run the whole move, recorded as an event of the server's action (``Error``
    with the migration's reason when it did not complete)."""
    migration = flow.move.migration
    action, event = MOVE_EVENTS.get(
        migration.migration_type,
        (migration.migration_type, f"conductor_{migration.migration_type}"),
    )
    with actions.event(
        svc.db, migration.instance_uuid, action, event, migration.source_compute
    ) as step:
        _run(flow, svc, tracker)
        ended = records.get(svc.db, migration.id)
        if ended.status not in SUCCEEDED:
            step.fail(f"migration {ended.status}: {ended.error or 'no reason recorded'}")


def _run(flow: MoveFlow[DataT], svc: Services, tracker: MoveTracker) -> None:
    migration = flow.move.migration
    try:
        tracker.check_cancelled(migration.id)
        records.update(svc.db, migration.id, status=records.PREPARING)
        flow.begin()
        selection, data = retry.choose_destination(flow, svc, tracker)
    except errors.VirtfleetError as exc:
        cancelled = isinstance(exc, MigrationCancelled)
        finish.end(
            svc, tracker, migration, records.CANCELLED if cancelled else records.ERROR, str(exc)
        )
        return
    try:
        _move_to(flow, svc, tracker, selection, data)
    except Exception as exc:  # after the guest moved or while undoing: never hang
        LOG.exception("migration %s: unexpected failure", migration.id)
        finish.end(svc, tracker, migration, records.ERROR, f"{type(exc).__name__}: {exc}")


def _move_to(
    flow: MoveFlow[DataT], svc: Services, tracker: MoveTracker, selection: Selection, data: DataT
) -> None:
    """Prepare and transfer to the claimed destination, then finish or roll back."""
    migration = flow.move.migration
    dest = selection.host
    dest_node = prepare.record_destination(svc.db, migration, selection)
    try:
        data = flow.prepare(data)
        prepare.mark_running(svc.db, tracker, migration)
        flow.transfer(data)
    except errors.VirtfleetError as exc:
        if not flow.landed(data):
            finish.roll_back(flow, svc, tracker, data, exc)
            return
        LOG.warning(
            "migration %s: %s, but the guest runs on %s: completing", migration.id, exc, dest
        )
    finish.complete(flow, svc, data, dest, dest_node)
