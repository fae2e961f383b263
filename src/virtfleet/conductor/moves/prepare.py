"""Around the move's own prepare of the claimed destination: the record names the
destination first, and says ``running`` once it is ready (unless an abort came)."""

from __future__ import annotations

from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.db import hosts
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database
from virtfleet.scheduler.manager import Selection


def record_destination(db: Database, migration: records.Migration, selection: Selection) -> str:
    """Write the chosen host and node on the record; returns the node's name."""
    node = hosts.get_host_by_uuid(db, selection.compute_node_uuid)
    records.update(
        db,
        migration.id,
        dest_compute=selection.host,
        dest_host=selection.host,
        dest_node=node.hypervisor_hostname,
    )
    return node.hypervisor_hostname


def mark_running(db: Database, tracker: MoveTracker, migration: records.Migration) -> None:
    """The destination is ready: the record says ``running``, unless an abort came first
    (then MigrationCancelled)."""
    tracker.check_cancelled(migration.id)
    records.update(db, migration.id, status=records.RUNNING)
