"""The scheduler's in-memory view of the compute nodes table.

Loading every host per request does not scale to thousands of hosts, so the records
are cached and reloaded when older than ``[scheduler] host_cache_seconds``, or at once
(at most every :data:`MISS_RELOAD_SECONDS`) when a candidate names an unknown host.
A reload replaces the whole mapping; readers keep the snapshot they were handed, and
only one thread reloads while the others go on with the previous snapshot.
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
        if loaded_at is None or now - loaded_at >= self._ttl:
            self._reload(wait=loaded_at is None)
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
            self._hosts = {record.uuid: record for record in host_db.list_hosts(self._db)}
            self._loaded_at = self._clock()
        finally:
            self._lock.release()
