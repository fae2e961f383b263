"""The host cache: TTL reloads, reload on an unknown candidate (rate-limited)."""

from __future__ import annotations

import time
from collections.abc import Callable

from virtfleet.db import hosts as host_db
from virtfleet.db.engine import Database
from virtfleet.scheduler.host_cache import MISS_RELOAD_SECONDS, HostCache

from .scheduler_fleet import ARCH_CPU, HostReport


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def add(db: Database, name: str) -> str:
    return host_db.upsert_host(db, HostReport(name, name), ARCH_CPU["x86_64"]).uuid


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_first_snapshot_loads_and_ttl_keeps_it(db: Database) -> None:
    clock = Clock()
    cache = HostCache(db, ttl=10.0, clock=clock)
    h1 = add(db, "h1")
    assert set(cache.snapshot()) == {h1}
    host_db.set_status(db, "h1", "disabled")
    clock.now += 5
    assert cache.snapshot()[h1].status == "enabled"  # still cached
    clock.now += 5
    # TTL passed: reloaded in the background, the stale records serve meanwhile
    assert eventually(lambda: cache.snapshot()[h1].status == "disabled")


def test_unknown_candidate_reloads_but_not_more_often_than_the_limit(db: Database) -> None:
    clock = Clock()
    cache = HostCache(db, ttl=3600.0, clock=clock)
    add(db, "h1")
    cache.snapshot()
    h2 = add(db, "h2")
    assert h2 not in cache.snapshot(wanted=[h2])  # loaded just now: no reload yet
    clock.now += MISS_RELOAD_SECONDS
    assert h2 in cache.snapshot(wanted=[h2])
    h3 = add(db, "h3")
    assert h3 not in cache.snapshot()  # not wanted: the TTL rules
    clock.now += MISS_RELOAD_SECONDS
    assert h3 in cache.snapshot(wanted=[h3])


def test_invalidate_forces_a_reload(db: Database) -> None:
    cache = HostCache(db, ttl=3600.0, clock=Clock())
    cache.snapshot()
    h1 = add(db, "h1")
    cache.invalidate()
    assert h1 in cache.snapshot()


def test_zero_ttl_reloads_every_time(db: Database) -> None:
    cache = HostCache(db, ttl=0.0, clock=Clock())
    assert cache.snapshot() == {}
    h1 = add(db, "h1")
    assert h1 in cache.snapshot()
