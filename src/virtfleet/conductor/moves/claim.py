"""The claim on the destination, held through the migration record as Nova does:
while a move runs, the migration's uuid is the placement consumer of what the
instance held on the source, and the instance's own consumer holds the destination.

- :func:`claim` takes the destination in one write that also hands the source's
  allocation to the migration (Conflict when a concurrent request won the host);
- :func:`confirm` ends a move that worked: the migration's (source) allocation goes;
- :func:`give_back` ends a move that did not: the instance holds what the migration
  held again, the migration nothing (one write);
- :func:`release` drops whatever the migration holds (its server is gone).

A move that resizes on the same host needs nothing else: both allocations sit on
one provider until the move is confirmed or given back.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from virtfleet import errors
from virtfleet.conductor.moves.services import MigrationPlacement, MigrationScheduler
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.observability import metrics
from virtfleet.placement.types import ConsumerRequest
from virtfleet.scheduler.manager import Selection

LOG = logging.getLogger(__name__)

WRITE_ATTEMPTS = 5  # concurrent writes to either consumer before giving up


def claim(
    placement: MigrationPlacement,
    server: servers.Server,
    migration: records.Migration,
    selection: Selection,
) -> Selection:
    """The instance takes ``selection``'s allocation (else one of its alternates on the
    same host) and the migration what the instance held; returns the selection as
    claimed. Conflict when every allocation on that host lost a race."""
    lost: errors.Conflict | None = None
    timer = metrics.Timer()
    for allocation in (selection.allocation_request, *selection.alternates):
        try:
            _swap(placement, server, migration, allocation)
        except errors.Conflict as exc:
            LOG.debug("claim of %s on %s lost: %s", migration.uuid, selection.host, exc)
            lost = exc
            continue
        metrics.SCHEDULER_CLAIMS.labels("claimed").observe(timer.elapsed())
        return dataclasses.replace(selection, allocation_request=allocation, alternates=())
    metrics.SCHEDULER_CLAIMS.labels("lost").observe(timer.elapsed())
    assert lost is not None
    raise lost


def _swap(
    placement: MigrationPlacement,
    server: servers.Server,
    migration: records.Migration,
    destination: Mapping[str, Mapping[str, int]],
) -> None:
    for _ in range(WRITE_ATTEMPTS):
        own = placement.get_consumer_allocations(server.uuid)
        held = placement.get_consumer_allocations(migration.uuid)
        source = {rp: dict(alloc.resources) for rp, alloc in own.allocations.items()}
        try:
            placement.replace_many(
                {
                    server.uuid: ConsumerRequest(
                        {rp: dict(r) for rp, r in destination.items()},
                        server.project_id,
                        server.user_id,
                        own.consumer_generation,
                    ),
                    migration.uuid: ConsumerRequest(
                        source, server.project_id, server.user_id, held.consumer_generation
                    ),
                }
            )
            return
        except errors.ConcurrentUpdate:
            continue
    raise errors.Conflict(f"could not claim for {server.uuid}: its allocation kept changing")


def confirm(scheduler: MigrationScheduler, migration: records.Migration) -> None:
    """The move worked: drop the migration's (source) allocation."""
    scheduler.unclaim(migration.uuid)


def release(scheduler: MigrationScheduler, migration: records.Migration) -> None:
    """Drop whatever the migration holds; safe when it holds nothing."""
    scheduler.unclaim(migration.uuid)


def give_back(placement: MigrationPlacement, migration: records.Migration) -> None:
    """The move did not happen: one write gives the instance what the migration held
    and leaves the migration nothing. A migration that holds nothing (never claimed)
    leaves the instance's allocation as it is."""
    instance = migration.instance_uuid
    for _ in range(WRITE_ATTEMPTS):
        held = placement.get_consumer_allocations(migration.uuid)
        if not held.allocations:
            return
        own = placement.get_consumer_allocations(instance)
        source = {rp: dict(alloc.resources) for rp, alloc in held.allocations.items()}
        try:
            placement.replace_many(
                {
                    instance: ConsumerRequest(
                        source, migration.project_id, migration.user_id, own.consumer_generation
                    ),
                    migration.uuid: ConsumerRequest(
                        {}, migration.project_id, migration.user_id, held.consumer_generation
                    ),
                }
            )
            return
        except errors.ConcurrentUpdate:
            continue
    raise errors.Conflict(f"could not give {instance} its allocation back: it kept changing")
