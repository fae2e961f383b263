"""Pick destination candidates: the scheduler, asked with the move's constraints (the
server's boot request, never the source, asked for by the migration), or the one host
the user forced, which the scheduler checks the same way."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from virtfleet import errors
from virtfleet.conductor import boot
from virtfleet.conductor.moves.refusals import Refusals
from virtfleet.conductor.moves.services import MigrationScheduler
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec

#: refused hosts -> what to ask the scheduler for
SpecFor = Callable[[frozenset[str]], RequestSpec]


def held_by_migration(
    server: servers.Server,
    migration: records.Migration,
    host: str | None,
    refused: frozenset[str] = frozenset(),
) -> RequestSpec:
    """The boot request of ``server`` asked for by the migration (its uuid the request's
    consumer), never on the source nor on a ``refused`` host; ``host`` forces one."""
    assert server.host is not None
    base = boot.request_spec(server, refused | {server.host})
    return dataclasses.replace(base, instance_uuid=migration.uuid, requested_host=host)


def candidates(
    scheduler: MigrationScheduler,
    spec_for: SpecFor,
    refusals: Refusals,
    max_attempts: int,
) -> Iterator[Selection]:
    """Candidates best first, asking the scheduler again (without the refused hosts)
    until it has none or ``max_attempts`` hosts were refused; then NoValidHost naming
    every refusal. The caller records a refusal for each candidate it turns down."""
    while True:
        refused = refusals.hosts()
        if len(refusals) >= max_attempts:
            raise errors.NoValidHost(refusals.message(None))
        try:
            selections = scheduler.select_destinations(spec_for(refused), max_results=max_attempts)
        except errors.NoValidHost as exc:
            raise errors.NoValidHost(refusals.message(exc.message)) from exc
        fresh = [s for s in selections if s.host not in refused]
        if not fresh:
            raise errors.NoValidHost(refusals.message(None))
        for selection in fresh:
            if len(refusals) >= max_attempts:
                break
            yield selection


def max_attempts(scheduler_max_attempts: int, requested_host: str | None) -> int:
    """How many hosts may refuse: ``[scheduler] max_attempts``, one for a forced host."""
    return scheduler_max_attempts if requested_host is None else 1
