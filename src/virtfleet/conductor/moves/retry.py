"""Choose the destination: each candidate in turn is tried (checked by the move and
claimed); a refused or lost candidate is recorded with its reason and the next one
tried, until one takes the guest or NoValidHost names every refusal. A candidate
that breaks the hard policy of the server's group (its members counted where they
are now) is refused before it is tried.

:func:`first_taker` is that loop for any kind of move (a migration's check and claim
held by its record, an unshelve's claim and spawn); :func:`choose_destination` is a
migration's use of it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from virtfleet import errors
from virtfleet.conductor.moves import claim, destination, policy
from virtfleet.conductor.moves.flow import MoveFlow
from virtfleet.conductor.moves.refusals import Refusals
from virtfleet.conductor.moves.services import MigrationScheduler, Services
from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.db.engine import Database
from virtfleet.scheduler import server_groups
from virtfleet.scheduler.manager import Selection

LOG = logging.getLogger(__name__)

DataT = TypeVar("DataT")
T = TypeVar("T")


class RefusedError(Exception):
    """A candidate turned the guest down; ``reason`` is recorded and the next tried.
    Whoever raises it has undone what the try took on that host."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def first_taker(
    db: Database,
    scheduler: MigrationScheduler,
    refusals: Refusals,
    spec_for: destination.SpecFor,
    limit: int,
    take: Callable[[Selection], T],
    before: Callable[[], None] = lambda: None,
) -> T:
    """``take(candidate)`` of the first candidate that does not raise :class:`RefusedError`
    (``before`` runs ahead of each, e.g. to stop an aborted move); NoValidHost naming
    every refusal when none took the guest within ``limit`` refusals."""
    uuid = refusals.instance_uuid
    for selection in destination.candidates(scheduler, spec_for, refusals, limit):
        before()
        conflict = server_groups.violation(db, uuid, selection.host)
        if conflict is not None:  # the group's members moved since the scheduler looked
            refusals.add(selection.host, conflict)
            continue
        try:
            return take(selection)
        except RefusedError as exc:
            LOG.info("%s: %s refused: %s", uuid, selection.host, exc.reason)
            refusals.add(selection.host, exc.reason)
    raise AssertionError("unreachable: destination.candidates raises when it runs out")


def choose_destination(
    flow: MoveFlow[DataT], svc: Services, tracker: MoveTracker
) -> tuple[Selection, DataT]:
    """The first candidate that passes the move's checks and takes the claim."""
    move = flow.move
    what = policy.MOVE_NAMES.get(move.migration.migration_type, "Move")

    def take(selection: Selection) -> tuple[Selection, DataT]:
        try:
            data = flow.check(selection)
        except errors.VirtfleetError as exc:
            raise RefusedError(exc.message) from exc
        try:
            claimed = claim.claim(svc.placement, move.server, move.migration, selection)
        except errors.Conflict as exc:
            flow.release(data)
            raise RefusedError(f"lost the claim to a concurrent request ({exc})") from exc
        return claimed, data

    return first_taker(
        svc.db,
        svc.scheduler,
        Refusals(move.server.uuid, what),
        flow.spec_for,
        destination.max_attempts(svc.conf.scheduler.max_attempts, move.requested_host),
        take,
        before=lambda: tracker.check_cancelled(move.migration_id),
    )
