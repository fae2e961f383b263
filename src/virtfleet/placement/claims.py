"""Group commit for allocation writes (claims).

Many threads claiming at once would otherwise each open a write transaction and queue
for the database's write lock (on SQLite by sleeping in its busy handler). Here the
first caller becomes the *leader*: it takes every claim queued so far (at most
:data:`MAX_BATCH`), writes them in one transaction, each inside its own savepoint so
that a claim that fails (over capacity, generation conflict, bad input) is rolled back
alone, commits once, and hands the leadership to the oldest claim still waiting.
Every caller gets its own outcome: it returns when its claim is committed, or raises
that claim's error.

Nothing here trusts a cache: each claim runs :func:`allocations_db.replace_consumers`,
which checks consumer generations and capacity against the database inside the
transaction, and bumps provider generations with a guarded ``UPDATE``, so other
processes writing the same database stay safe.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from sqlalchemy import Connection

from virtfleet.db.engine import Database
from virtfleet.placement import allocations_db
from virtfleet.placement.exceptions import RACE_RETRIES, ProviderRaced
from virtfleet.placement.types import ConsumerRequest

#: Most claims committed by one transaction.
MAX_BATCH = 64


class _Claim:
    """One caller's write: the consumers to replace, and how it went."""

    __slots__ = ("done", "error", "lead", "requests")

    def __init__(self, requests: Mapping[str, ConsumerRequest]) -> None:
        self.requests = requests
        self.done = threading.Event()
        self.lead = False  # woken to write the next batch, not because it is written
        self.error: BaseException | None = None


class ClaimWriter:
    """Writes allocation replacements for many threads, a batch per transaction."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Claim] = []
        self._writing = False  # a leader is writing; invariant: False => queue empty
        self.batches = 0  # transactions committed or attempted (for tests and stats)

    @property
    def pending(self) -> int:
        """Claims queued and not yet taken into a transaction."""
        with self._lock:
            return len(self._queue)

    def replace(self, requests: Mapping[str, ConsumerRequest]) -> None:
        """Replace the allocations of the consumers in ``requests``, all or nothing;
        returns once committed, or raises what the write raised. A claim that lost a
        provider race (:class:`ProviderRaced`) is queued again, as it was."""
        for attempt in range(1, RACE_RETRIES + 1):
            try:
                self._replace_once(requests)
                return
            except ProviderRaced:
                if attempt == RACE_RETRIES:
                    raise

    def _replace_once(self, requests: Mapping[str, ConsumerRequest]) -> None:
        claim = _Claim(requests)
        with self._lock:
            self._queue.append(claim)
            lead = not self._writing
            self._writing = True
        if not lead:
            claim.done.wait()
            lead = claim.lead
        if lead:
            self._write_batch()
        if claim.error is not None:
            raise claim.error

    def _write_batch(self) -> None:
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        try:
            self._commit(batch)
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._writing = False
            for claim in batch:
                claim.lead = False
                claim.done.set()

    def _commit(self, batch: list[_Claim]) -> None:
        self.batches += 1
        try:
            with self._db.write() as conn:
                if len(batch) == 1:
                    allocations_db.replace_consumers(conn, batch[0].requests)
                else:
                    for claim in batch:
                        _write_in_savepoint(conn, claim)
        except BaseException as exc:  # the transaction failed: no claim in it was written
            for claim in batch:
                if claim.error is None:
                    claim.error = exc


def _write_in_savepoint(conn: Connection, claim: _Claim) -> None:
    """One claim of a batch; its failure rolls back only its own rows."""
    try:
        with conn.begin_nested():
            allocations_db.replace_consumers(conn, claim.requests)
    except Exception as exc:  # reported to that claim's caller
        claim.error = exc
