"""The scheduler's in-memory view of the compute nodes table.

Loading every host per request does not scale to thousands of hosts (decoding 10,000
rows with their CPU info takes seconds), so the records are cached:

- Once older than ``[scheduler] host_cache_seconds`` they are refreshed in a background
  thread while requests go on with the previous snapshot (a TTL of 0 refreshes in the
  request itself). A refresh reads every host's small columns (report time, state,
  status) and decodes only the rows whose report time differs from the one cached
  (new reports, and hosts it has never seen) — at 10,000 hosts a few milliseconds,
  where decoding every row takes seconds.
- Every :data:`FULL_RELOAD_SECONDS`, or after :meth:`HostCache.invalidate`, all rows
  are decoded again.
- A candidate naming an unknown host refreshes at once, at most every
  :data:`MISS_RELOAD_SECONDS`.

A refresh replaces the whole mapping; readers keep the snapshot they were handed, and
only one refresh runs at a time.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from virtfleet.db.engine import Database
from virtfleet.db.hosts import HostRecord, as_state, as_status, record_from_row
from virtfleet.db.models.hosts import ComputeNode

#: Least time between two reloads caused by unknown hosts (new hosts appear quickly,
#: but a provider without a compute node cannot make every request reload).
MISS_RELOAD_SECONDS = 0.5

#: Seconds between complete reloads (catches anything the incremental refresh missed).
FULL_RELOAD_SECONDS = 300.0

_TABLE = ComputeNode.__table__

#: A full load of at least this many hosts moves them out of the cyclic collector's
#: reach (see :func:`_freeze_gc`).
FREEZE_GC_HOSTS = 1000

#: Rows decoded per query when a refresh fetches changed hosts.
_CHUNK = 500


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
        self._light: Light = {}
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
        hosts: Mapping[str, HostRecord]
        with self._db.read() as conn:
            if full:
                hosts, light = _load_all(conn)
            else:
                hosts, light = _refresh(conn, self._hosts, self._light)
        self._hosts, self._light = hosts, light
        self._loaded_at = now
        if full:
            self._fully_loaded_at = now
            if len(hosts) >= FREEZE_GC_HOSTS:
                _freeze_gc()


#: The small columns of every host, read with a plain DB-API cursor: the report time
#: stays as stored (text on SQLite), compared and never parsed.
_LIGHT_SQL = (
    "SELECT uuid, updated_at, state, status, disabled_reason, forced_down FROM compute_nodes"
)
assert ComputeNode.__tablename__ == "compute_nodes"

Light = dict[str, tuple[Any, ...]]  # uuid -> (uuid, report time, state, status, reason, forced)


def _light(conn: Connection) -> Light:
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open in the transaction
    try:
        cursor.execute(_LIGHT_SQL)
        return {row[0]: tuple(row) for row in cursor.fetchall()}
    finally:
        cursor.close()


def _load_all(conn: Connection) -> tuple[dict[str, HostRecord], Light]:
    hosts = {r.uuid: r for r in map(record_from_row, conn.execute(select(_TABLE)))}
    return hosts, _light(conn)


def _refresh(
    conn: Connection, known: Mapping[str, HostRecord], before: Light
) -> tuple[Mapping[str, HostRecord], Light]:
    """``known`` brought up to date: rows whose stored report time changed (or never
    seen) decoded, states re-read, deleted hosts dropped; ``known`` itself when
    nothing changed."""
    light = _light(conn)
    if light == before:
        return known, before
    stale = [
        uuid for uuid, row in light.items() if (old := before.get(uuid)) is None or old[1] != row[1]
    ]
    changed: dict[str, HostRecord] = {}
    for start in range(0, len(stale), _CHUNK):
        chunk = stale[start : start + _CHUNK]
        for found in conn.execute(select(_TABLE).where(_TABLE.c.uuid.in_(chunk))):
            changed[found.uuid] = record_from_row(found)
    hosts: dict[str, HostRecord] = {}
    for uuid, row in light.items():
        record = changed.get(uuid)
        if record is None:
            record = known.get(uuid)
            if record is None:
                continue
            if row != before.get(uuid):  # same report, new state or status
                _uuid, _stamp, state, status, reason, forced = row
                record = dataclasses.replace(
                    record,
                    state=as_state(state),
                    status=as_status(status),
                    disabled_reason=reason,
                    forced_down=bool(forced),
                )
        hosts[uuid] = record
    return hosts, light


def _freeze_gc() -> None:
    """Move everything alive into the collector's permanent generation (as placement
    does after loading its snapshot): 10,000 host records with their CPU info are a
    few hundred thousand long-lived objects that every full collection would rescan,
    stalling a boot for up to 100 ms. Records hold no cycles, so refcounting still
    frees the ones a refresh replaces."""
    gc.collect()
    gc.freeze()
