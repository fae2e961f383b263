"""The scheduler's in-memory view of the compute nodes table.

Loading every host per request does not scale to thousands of hosts, so the records
are cached. Once older than ``[scheduler] host_cache_seconds`` they are reloaded in a
background thread while requests go on with the previous snapshot (a TTL of 0 reloads
in the request itself); a candidate that names an unknown host reloads them at once,
at most every :data:`MISS_RELOAD_SECONDS`. A reload replaces the whole mapping, and
only one runs at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping

from virtfleet.db import hosts as host_db
from virtfleet.db.engine import Database
from virtfleet.db.hosts import HostRecord

#: Least time between two reloads caused by unknown hosts (new hosts appear quickly,
#: but a provider without a compute node cannot make every request reload).
MISS_RELOAD_SECONDS = 0.5


class HostCache:
    """Host records by uuid, reloaded on a short TTL."""

    def __init__(
        self, db: Database, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._hosts: Mapping[str, HostRecord] = {}
        self._loaded_at: float | None = None

    def snapshot(self, wanted: Iterable[str] = ()) -> Mapping[str, HostRecord]:
        """Host records by uuid: fresh within the TTL, and reloaded (rate-limited)
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
        """Forget the records: the next snapshot reloads them."""
        self._loaded_at = None

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
        self._hosts = {record.uuid: record for record in host_db.list_hosts(self._db)}
        self._loaded_at = self._clock()
