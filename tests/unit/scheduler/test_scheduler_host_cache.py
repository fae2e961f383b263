"""The host cache: TTL reloads, reload on an unknown candidate (rate-limited)."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

from sqlalchemy import update

from virtfleet.db import hosts as host_db
from virtfleet.db.engine import Database
from virtfleet.db.models.hosts import ComputeNode
from virtfleet.scheduler.host_cache import FULL_RELOAD_SECONDS, MISS_RELOAD_SECONDS, HostCache

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


def test_refresh_sees_reports_deletions_and_hosts_with_old_timestamps(db: Database) -> None:
    cache = HostCache(db, ttl=0.0, clock=Clock())
    h1 = add(db, "h1")
    add(db, "h2")
    assert set(cache.snapshot()) == {h1, host_db.host_uuid("h2")}
    # a new report changes the CPU info
    cpu = {**ARCH_CPU["x86_64"], "maxphysaddr_bits": 52}
    host_db.upsert_host(db, HostReport("h1", "h1"), cpu)
    assert cache.snapshot()[h1].cpu_info["maxphysaddr_bits"] == 52
    # a deleted host disappears
    host_db.delete_host(db, "h2")
    assert set(cache.snapshot()) == {h1}
    # a host whose report carries an old timestamp (another server's clock) still appears
    h3 = add(db, "h3")
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    with db.write() as conn:
        conn.execute(
            update(ComputeNode).where(ComputeNode.host == "h3").values(updated_at=long_ago)
        )
    assert h3 in cache.snapshot()


def test_records_match_the_repository(db: Database) -> None:
    add(db, "h1")
    host_db.set_status(db, "h1", "disabled", "maintenance")
    cached = HostCache(db, ttl=0.0, clock=Clock()).snapshot()
    assert list(cached.values()) == host_db.list_hosts(db)


def test_refresh_decodes_rows_whose_report_time_changed_even_backwards(db: Database) -> None:
    cache = HostCache(db, ttl=0.0, clock=Clock())
    h1 = add(db, "h1")
    add(db, "h2")
    before = cache.snapshot()
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    with db.write() as conn:
        conn.execute(
            update(ComputeNode)
            .where(ComputeNode.host == "h1")
            .values(vcpus=99, updated_at=long_ago)
        )
    after = cache.snapshot()
    assert after[h1].vcpus == 99
    h2 = host_db.host_uuid("h2")
    assert after[h2] is before[h2]  # unchanged rows are not decoded again


def test_refresh_without_changes_keeps_the_same_mapping(db: Database) -> None:
    cache = HostCache(db, ttl=0.0, clock=Clock())
    add(db, "h1")
    first = cache.snapshot()
    assert cache.snapshot() is first
    host_db.set_status(db, "h1", "disabled")
    assert cache.snapshot() is not first


def test_full_reload_catches_what_the_refresh_cannot(db: Database) -> None:
    clock = Clock()
    cache = HostCache(db, ttl=0.0, clock=clock)
    h1 = add(db, "h1")
    cache.snapshot()
    # a row changed without a new report time (not how reports write, but possible)
    with db.write() as conn:
        conn.execute(update(ComputeNode).where(ComputeNode.host == "h1").values(vcpus=99))
    assert cache.snapshot()[h1].vcpus == 16
    clock.now += FULL_RELOAD_SECONDS
    assert cache.snapshot()[h1].vcpus == 99
