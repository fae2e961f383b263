"""Finish a move or roll it back; either way the record and the server's task end.

- :func:`complete`: the guest runs on the destination: the destination's part, the
  migration's (source) allocation dropped, the record ``completed``, the server on
  the destination, then the source's clean-up; a move that awaits confirm (cold
  migration, resize) keeps the source held and ends ``finished`` in VERIFY_RESIZE;
  an evacuation ends ``done`` with the dead source still held by the migration until
  its agent returns and removes the guest (``evacuations.source_cleaned``);
- :func:`roll_back`: undo on the destination, then :func:`end` with the failure;
- :func:`end`: the instance's source allocation given back (the migration's
  released), the status and reason recorded, the server's task ended (the guest
  stays where it was);
- :func:`settle`: the end of the server's task through the servers service.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from virtfleet import errors
from virtfleet.conductor.moves import claim
from virtfleet.conductor.moves.flow import MoveFlow
from virtfleet.conductor.moves.services import Services
from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.servers import service

LOG = logging.getLogger(__name__)

DataT = TypeVar("DataT")


def complete(flow: MoveFlow[DataT], svc: Services, data: DataT, dest: str, dest_node: str) -> None:
    """The guest runs on ``dest``: drop the source's allocation, move the server and the
    record there, then let both agents clean up."""
    move = flow.move
    flow.finish_at_destination(data)
    if flow.awaits_confirm:  # VERIFY_RESIZE: both hosts stay held until confirm or revert
        records.update(svc.db, move.migration.id, status=records.FINISHED)
        settle(svc.db, move.server.uuid, "resize_finished", **flow.arrived(dest, dest_node))
        return
    if move.migration.migration_type == records.EVACUATION:  # the source is down
        records.update(svc.db, move.migration.id, status=records.DONE)
        settle(svc.db, move.server.uuid, ending(move.migration), **flow.arrived(dest, dest_node))
        return
    claim.confirm(svc.scheduler, move.migration)
    current = records.get(svc.db, move.migration.id)
    records.update(
        svc.db,
        move.migration.id,
        status=records.COMPLETED,
        memory_processed=current.memory_total or current.memory_processed,
        memory_remaining=0,
        disk_remaining=0,
    )
    settle(svc.db, move.server.uuid, "migration_ended", **flow.arrived(dest, dest_node))
    flow.finish_at_source(data)


def roll_back(
    flow: MoveFlow[DataT], svc: Services, tracker: MoveTracker, data: DataT, exc: BaseException
) -> None:
    """Undo at the destination, release the migration's claim, end the task."""
    migration = flow.move.migration
    LOG.warning("migration %s of %s failed: %s", migration.id, migration.instance_uuid, exc)
    flow.roll_back(data)
    end(svc, tracker, migration, flow.failure_status(exc), str(exc))


def end(
    svc: Services, tracker: MoveTracker, migration: records.Migration, status: str, message: str
) -> None:
    """Give the instance its source allocation back, finish the record and the server's
    task (the guest stays where it was)."""
    try:
        servers.get(svc.db, migration.instance_uuid)
    except errors.NotFound:
        pass  # the server is gone: nothing to give back to
    else:
        claim.give_back(svc.placement, migration)
    claim.release(svc.scheduler, migration)
    records.update(svc.db, migration.id, status=status, error=message)
    tracker.forget_cancel(migration.id)
    try:
        settle(svc.db, migration.instance_uuid, ending(migration))
    except errors.NotFound:
        return
    LOG.info("migration %s ended %s: %s", migration.id, status, message)


def ending(migration: records.Migration) -> str:
    """The transition that ends the server's task of ``migration``."""
    if migration.migration_type == records.EVACUATION:
        return "evacuation_ended"
    return "migration_ended"


def settle(
    db: Database, instance_uuid: str, transition: str = "migration_ended", **where: Any
) -> None:
    """End the server's move task (``transition``: ``migration_ended``, or
    ``resize_finished`` for a move that awaits confirm) and record ``where`` the guest
    now runs; when the task is no longer the move's (e.g. a delete was asked for
    meanwhile) only ``where`` is written."""
    try:
        service.request(db, instance_uuid, transition, **where)
    except service.InvalidServerState as exc:
        LOG.info("server %s: %s", instance_uuid, exc)
        if where:
            servers.update(db, instance_uuid, **where)
