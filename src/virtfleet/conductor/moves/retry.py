"""Choose the destination: each candidate in turn is checked by the move and claimed
for the migration; a refused or lost candidate is recorded with its reason and the
next one tried, until one takes the guest or NoValidHost names every refusal. A
candidate that breaks the hard policy of the server's group (its members counted
where they are now) is refused before any check or claim."""

from __future__ import annotations

import logging
from typing import TypeVar

from virtfleet import errors
from virtfleet.conductor.moves import claim, destination, policy
from virtfleet.conductor.moves.flow import MoveFlow
from virtfleet.conductor.moves.refusals import Refusals
from virtfleet.conductor.moves.services import Services
from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.scheduler import server_groups
from virtfleet.scheduler.manager import Selection

LOG = logging.getLogger(__name__)

DataT = TypeVar("DataT")


def choose_destination(
    flow: MoveFlow[DataT], svc: Services, tracker: MoveTracker
) -> tuple[Selection, DataT]:
    """The first candidate that passes the move's checks and takes the claim."""
    move = flow.move
    what = policy.MOVE_NAMES.get(move.migration.migration_type, "Move")
    refusals = Refusals(move.server.uuid, what)
    limit = destination.max_attempts(svc.conf.scheduler.max_attempts, move.requested_host)
    for selection in destination.candidates(svc.scheduler, flow.spec_for, refusals, limit):
        tracker.check_cancelled(move.migration_id)
        conflict = server_groups.violation(svc.db, move.server.uuid, selection.host)
        if conflict is not None:  # the group's members moved since the scheduler looked
            refusals.add(selection.host, conflict)
            continue
        try:
            data = flow.check(selection)
        except errors.VirtfleetError as exc:
            LOG.info("migration %s: %s refused: %s", move.migration_id, selection.host, exc)
            refusals.add(selection.host, exc.message)
            continue
        try:
            claimed = claim.claim(svc.placement, move.server, move.migration, selection)
        except errors.Conflict as exc:
            flow.release(data)
            refusals.add(selection.host, f"lost the claim to a concurrent request ({exc})")
            continue
        return claimed, data
    raise AssertionError("unreachable: destination.candidates raises when it runs out")
