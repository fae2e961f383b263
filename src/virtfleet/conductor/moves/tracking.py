"""Which moves this process drives, and which of them were asked to stop.

A move is *active* while a workflow of this process runs it (recovery leaves those
alone) and *cancelled* once an abort was asked for (the workflow stops at its next
step, or the transfer is aborted)."""

from __future__ import annotations

import threading

from virtfleet.conductor.moves.policy import MigrationCancelled


class MoveTracker:
    """Thread-safe sets of active and cancelled migration ids."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: set[int] = set()
        self._cancelled: set[int] = set()

    def begin(self, migration_id: int) -> None:
        with self._lock:
            self._active.add(migration_id)

    def done(self, migration_id: int) -> None:
        with self._lock:
            self._active.discard(migration_id)

    def active(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._active)

    def is_active(self, migration_id: int) -> bool:
        with self._lock:
            return migration_id in self._active

    def cancel(self, migration_id: int) -> None:
        with self._lock:
            self._cancelled.add(migration_id)

    def forget_cancel(self, migration_id: int) -> None:
        with self._lock:
            self._cancelled.discard(migration_id)

    def is_cancelled(self, migration_id: int) -> bool:
        with self._lock:
            return migration_id in self._cancelled

    def check_cancelled(self, migration_id: int) -> None:
        """Raise :class:`MigrationCancelled` when an abort was asked for."""
        if self.is_cancelled(migration_id):
            raise MigrationCancelled(f"migration {migration_id} was aborted")
