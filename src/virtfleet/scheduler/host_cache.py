"""The scheduler's in-memory view of the compute nodes table.

Loading every host per request does not scale to thousands of hosts (decoding 10,000
rows with their CPU info takes seconds), so the records are cached:

- Once older than ``[scheduler] host_cache_seconds`` they are refreshed in a background
  thread while requests go on with the previous snapshot (a TTL of 0 refreshes in the
  request itself). A refresh reads every host's state and status (small columns) and
  decodes only the rows reported since the newest one it has (less
  :data:`REPORT_OVERLAP`), plus any host it has never seen.
- Every :data:`FULL_RELOAD_SECONDS`, or after :meth:`HostCache.invalidate`, all rows
  are decoded again.
- A candidate naming an unknown host refreshes at once, at most every
  :data:`MISS_RELOAD_SECONDS`.

A refresh replaces the whole mapping; readers keep the snapshot they were handed, and
only one refresh runs at a time.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import Connection, select

from virtfleet.db.engine import Database
from virtfleet.db.hosts import HostRecord, as_state, as_status, record_from_row
from virtfleet.db.models.hosts import ComputeNode

#: Least time between two reloads caused by unknown hosts (new hosts appear quickly,
#: but a provider without a compute node cannot make every request reload).
MISS_RELOAD_SECONDS = 0.5

#: Rows reported this long before the newest report seen are decoded again on each
#: refresh: covers commit lag and small clock differences between servers.
REPORT_OVERLAP = datetime.timedelta(seconds=5)

#: Seconds between complete reloads (catches anything the incremental refresh missed).
FULL_RELOAD_SECONDS = 300.0

_TABLE = ComputeNode.__table__


class HostCache:
    """Host records by uuid, refreshed on a short TTL."""

    def __init__(
        self, db: Database, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._hosts: Mapping[str, HostRecord] = {}
        self._loaded_at: float | None = None
        self._fully_loaded_at: float | None = None

    def snapshot(self, wanted: Iterable[str] = ()) -> Mapping[str, HostRecord]:
        """Host records by uuid: fresh within the TTL, and refreshed (rate-limited)
        when one of the ``wanted`` uuids is unknown."""
        now = self._clock()
        loaded_at = self._loaded_at
        if loaded_at is None or self._ttl == 0:
            self._reload(wait=loaded_at is None)
        elif now - loaded_at >= self._ttl:
            self._reload_in_background()
        elif now - loaded_at >= MISS_RELOAD_SECONDS and any(u not in self._hosts for u in wanted):
            self._reload(wait=True)
        return self._hosts

    def invalidate(self) -> None:
        """Forget the records: the next snapshot reloads all of them."""
        self._loaded_at = None
        self._fully_loaded_at = None

    def _reload(self, wait: bool) -> None:
        seen = self._loaded_at
        if not self._lock.acquire(blocking=wait):
            return  # another thread is reloading; keep using the current snapshot
        try:
            if self._loaded_at is not None and self._loaded_at != seen:
                return  # reloaded by another thread while this one waited
            self._load()
        finally:
            self._lock.release()

    def _reload_in_background(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # a reload is already running

        def run() -> None:
            try:
                self._load()
            finally:
                self._lock.release()

        threading.Thread(target=run, name="host-cache-reload", daemon=True).start()

    def _load(self) -> None:
        now = self._clock()
        full = self._fully_loaded_at is None or now - self._fully_loaded_at >= (FULL_RELOAD_SECONDS)
        with self._db.read() as conn:
            hosts = _load_all(conn) if full else _refresh(conn, self._hosts)
        self._hosts = hosts
        self._loaded_at = now
        if full:
            self._fully_loaded_at = now


def _load_all(conn: Connection) -> dict[str, HostRecord]:
    return {r.uuid: r for r in map(record_from_row, conn.execute(select(_TABLE)))}


def _refresh(conn: Connection, known: Mapping[str, HostRecord]) -> dict[str, HostRecord]:
    """``known`` brought up to date: recent reports decoded, states re-read, hosts
    never seen fetched, deleted hosts dropped."""
    newest = max((r.updated_at for r in known.values()), default=None)
    stmt = select(_TABLE)
    if newest is not None:
        stmt = stmt.where(_TABLE.c.updated_at >= newest - REPORT_OVERLAP)
    changed = {r.uuid: r for r in map(record_from_row, conn.execute(stmt))}
    states = conn.execute(
        select(_TABLE.c.uuid, _TABLE.c.state, _TABLE.c.status, _TABLE.c.disabled_reason)
    ).all()
    unseen = [row.uuid for row in states if row.uuid not in changed and row.uuid not in known]
    if unseen:
        rows = conn.execute(select(_TABLE).where(_TABLE.c.uuid.in_(unseen)))
        changed.update((r.uuid, r) for r in map(record_from_row, rows))
    hosts: dict[str, HostRecord] = {}
    for row in states:
        record = changed.get(row.uuid) or known.get(row.uuid)
        if record is not None:
            hosts[row.uuid] = _with_state(record, row.state, row.status, row.disabled_reason)
    return hosts


def _with_state(record: HostRecord, state: str, status: str, reason: str | None) -> HostRecord:
    up, enabled = as_state(state), as_status(status)
    if (record.state, record.status, record.disabled_reason) == (up, enabled, reason):
        return record
    return dataclasses.replace(record, state=up, status=enabled, disabled_reason=reason)
