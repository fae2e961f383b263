"""The shape every move shares: :class:`MoveFlow`, what one kind of move supplies to
the shared steps, which :func:`~virtfleet.conductor.moves.runner.run_move` runs as

    pick and check a destination, claim it for the migration (retry.py: destination.py,
    the flow's check, claim.py; the next candidate on a refusal, with its reason)
      -> prepare the destination (prepare.py and the flow's prepare)
      -> transfer the guest (the flow's transfer)
      -> finish (finish.complete: the allocation handed over, record and server
         updated) or roll back (finish.roll_back: the destination undone, the claim
         released, the reason recorded)

A kind of move is a :class:`MoveFlow`: one object per move that knows its own agent
calls (live migration: ``check_can_live_migrate_*``, ``pre_live_migration``,
``live_migrate``, ``post_live_migration_*``, ``rollback_live_migration_at_destination``)
and nothing of the sequence. A cold migration or resize brings its own checks,
prepare and transfer (``prep_resize``, ``resize_instance``), an evacuation a
transfer that rebuilds, an unshelve a transfer that spawns; ``run_move`` and the
step modules stay as they are.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from virtfleet.conductor.moves.move import Move
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec

DataT = TypeVar("DataT")


class MoveFlow(Protocol[DataT]):
    """What one kind of move adds to the shared steps; ``DataT`` is what its agents
    exchange about the move (live migration: ``LibvirtLiveMigrateData``)."""

    @property
    def move(self) -> Move: ...

    @property
    def awaits_confirm(self) -> bool:
        """Whether the move lands in VERIFY_RESIZE, the source still held until a
        confirm or revert (cold migration, resize), instead of completing."""
        ...

    def spec_for(self, refused: frozenset[str]) -> RequestSpec:
        """What to ask the scheduler for, without the ``refused`` hosts."""
        ...

    def begin(self) -> None:
        """Ask the source what every candidate's check needs (once, before any)."""
        ...

    def check(self, selection: Selection) -> DataT:
        """Check one candidate and take its device claims; VirtfleetError refuses it."""
        ...

    def release(self, data: DataT) -> None:
        """Undo :meth:`check`'s device claims (the placement claim was lost)."""
        ...

    def prepare(self, data: DataT) -> DataT:
        """Make the claimed destination ready to receive the guest."""
        ...

    def transfer(self, data: DataT) -> None:
        """Move the guest; returns once it runs on the destination."""
        ...

    def landed(self, data: DataT) -> bool:
        """After a failed prepare or transfer: whether the guest arrived anyway."""
        ...

    def roll_back(self, data: DataT) -> None:
        """Undo everything on the destination (the claim is released after)."""
        ...

    def failure_status(self, exc: BaseException) -> str:
        """The record's status for a move that failed with ``exc``."""
        ...

    def finish_at_destination(self, data: DataT) -> None:
        """The destination's part once the guest runs there (before the hand-over)."""
        ...

    def finish_at_source(self, data: DataT) -> None:
        """The source's clean-up once the server points at the destination."""
        ...

    def arrived(self, dest: str, dest_node: str) -> dict[str, Any]:
        """Where the server is once the move finished (host, node, power state); the
        end of its task is the ``migration_ended`` transition."""
        ...
