"""Moves of a guest from one host to another, built from shared steps.

Steps, one concern each (every kind of move composes them):

- ``destination``: candidates from the scheduler with the move's constraints, or the
  one host the user forced (checked the same way);
- ``retry`` and ``refusals``: check and claim each candidate in turn, the next one on a
  refusal, every reason kept for the final "no valid host";
- ``claim``: the destination's allocation held by the migration record, handed over
  to the instance on success, released on failure;
- ``prepare``: the record names the destination, the move readies it;
- ``transfer``: a live transfer watched (progress, timeout, abort);
- ``finish``: complete the move, or roll it back and end it with the reason;
- ``storage`` and ``mdev``: the shared-storage probe, the mdev rules and claims.

``flow`` draws the shape of a move (:class:`MoveFlow`, the hooks a kind of move
supplies) and runs it (:func:`run_move`); ``live_flow`` is live migration's
:class:`MoveFlow`, ``live_migration`` its API side (start, abort, force complete);
``cold_flow`` is cold migration's and resize's, ``resizes`` their API side (start,
confirm, revert, auto-confirm); ``evacuate_flow`` is evacuation's (rebuilt from the
image, the source down), ``evacuations`` its start and the dead source's clean-up;
``unshelve_flow`` is an offloaded server's unshelve onto any host (the shared
candidates and next-candidate loop, ``retry.first_taker``; no source, no record);
``recovery`` finishes or rolls back moves whose workflow died; ``policy`` holds the
pure decisions; ``tracking`` which moves this process drives or was asked to stop.
"""

from __future__ import annotations

from virtfleet.conductor.moves.cold_flow import ColdMigrationFlow
from virtfleet.conductor.moves.flow import MoveFlow
from virtfleet.conductor.moves.live_flow import LiveMigrationFlow
from virtfleet.conductor.moves.live_migration import LiveMigrations
from virtfleet.conductor.moves.move import Move
from virtfleet.conductor.moves.resizes import ColdMoves
from virtfleet.conductor.moves.runner import run_move
from virtfleet.conductor.moves.services import MigrationPlacement, MigrationScheduler, Services

__all__ = [
    "ColdMigrationFlow",
    "ColdMoves",
    "LiveMigrationFlow",
    "LiveMigrations",
    "MigrationPlacement",
    "MigrationScheduler",
    "Move",
    "MoveFlow",
    "Services",
    "run_move",
]
