"""The claim on the destination, held by the migration record: its uuid is the
placement consumer of the destination's resources while the move runs, so the
instance's own allocation stays on the source until the guest has moved.

- :func:`claim` takes the destination (Conflict when a concurrent request won it);
- :func:`hand_over` ends a move that worked: the instance holds what the migration
  held, the migration nothing (one write);
- :func:`release` ends a move that did not: the migration's claim is dropped.
"""

from __future__ import annotations

import logging

from virtfleet import errors
from virtfleet.conductor.moves.services import MigrationPlacement, MigrationScheduler
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.placement.types import ConsumerRequest
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec

LOG = logging.getLogger(__name__)

HAND_OVER_ATTEMPTS = 5  # concurrent writes to either consumer before giving up


def claim(scheduler: MigrationScheduler, spec: RequestSpec, selection: Selection) -> Selection:
    """Allocate ``selection``'s resources to the migration (``spec.instance_uuid`` is the
    migration's uuid); returns the selection as claimed. Conflict when it lost a race."""
    return scheduler.claim(spec, selection)


def release(scheduler: MigrationScheduler, migration: records.Migration) -> None:
    """Drop whatever the migration holds; safe when it holds nothing."""
    scheduler.unclaim(migration.uuid)


def hand_over(
    placement: MigrationPlacement, server: servers.Server, migration: records.Migration
) -> None:
    """One write: the instance holds what the migration held; the migration nothing.
    A migration that holds nothing (never claimed) leaves the instance's as it is."""
    for _ in range(HAND_OVER_ATTEMPTS):
        held = placement.get_consumer_allocations(migration.uuid)
        if not held.allocations:
            LOG.error(
                "migration %s holds no allocation: %s keeps its own", migration.id, server.uuid
            )
            return
        own = placement.get_consumer_allocations(server.uuid)
        moved = {rp: dict(alloc.resources) for rp, alloc in held.allocations.items()}
        try:
            placement.replace_many(
                {
                    server.uuid: ConsumerRequest(
                        moved, server.project_id, server.user_id, own.consumer_generation
                    ),
                    migration.uuid: ConsumerRequest(
                        {}, server.project_id, server.user_id, held.consumer_generation
                    ),
                }
            )
            return
        except errors.ConcurrentUpdate:
            continue
    raise errors.Conflict(f"could not move the allocation of {server.uuid}: kept changing")
