"""The scheduler's aggregate cache: every aggregate change (metadata, hosts, zone,
deletion) committed before a decision is honoured by that decision, whether it was made
by this server or by another one sharing the database."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from support.databases import BACKENDS, database_url
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.db import aggregates as aggregate_db
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService
from virtfleet.scheduler.aggregate_cache import AggregateCache
from virtfleet.scheduler.aggregates import AggregateService
from virtfleet.scheduler.manager import Scheduler

from .scheduler_fleet import Fleet, boot_request

ISOLATING_CONF = {
    "scheduler__host_cache_seconds": 0.0,
    "scheduler__enable_isolated_aggregate_filtering": True,
}


class Server:
    """One control server's view of the shared database: its own engine, placement,
    scheduler (with its own caches) and aggregate API service."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.placement = PlacementService(self.db)
        self.scheduler = Scheduler(make_conf((), (), **ISOLATING_CONF), self.db, self.placement)
        self.aggregates = AggregateService(self.db, self.placement)

    def host_for(self, instance: str, **kwargs: object) -> str:
        spec = boot_request(instance, vcpus=1, memory_mb=512, root_gb=1, **kwargs)
        return self.scheduler.select_destinations(spec)[0].host

    def hosts_for(self, instance: str, **kwargs: object) -> set[str]:
        spec = boot_request(instance, vcpus=1, memory_mb=512, root_gb=1, **kwargs)
        return {s.host for s in self.scheduler.select_destinations(spec)}


@pytest.fixture(params=[pytest.param(b, marks=getattr(pytest.mark, b), id=b) for b in BACKENDS])
def two_servers(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[list[Server]]:
    """Two servers on one new database (migrated) holding hosts h1 and h2."""
    with database_url(request.param, tmp_path) as url:
        servers = [Server(url), Server(url)]
        try:
            servers[0].db.upgrade()
            fleet = Fleet(servers[0].db, servers[0].placement)
            fleet.add("h1")
            fleet.add("h2")
            yield servers
        finally:
            for server in servers:
                server.db.dispose()


def _isolate(server: Server, aggregate_id: int) -> None:
    server.aggregates.set_metadata(aggregate_id, {"trait:CUSTOM_SECRET": "required"})


@pytest.mark.parametrize("writer", [0, 1], ids=["same-server", "other-server"])
def test_each_aggregate_change_is_honoured_by_the_next_decision(
    two_servers: list[Server], writer: int
) -> None:
    """Server 0 schedules (warming its cache before every change); the changes are
    made through server ``writer``'s aggregate API."""
    deciding, changing = two_servers[0], two_servers[writer]
    assert deciding.hosts_for("before") == {"h1", "h2"}

    agg = changing.aggregates.create("secret", None)
    changing.aggregates.add_host(agg.id, "h1")
    assert deciding.hosts_for("plain-1") == {"h1", "h2"}  # not isolated yet
    _isolate(changing, agg.id)  # metadata
    assert deciding.hosts_for("plain-2") == {"h2"}

    changing.aggregates.add_host(agg.id, "h2")  # hosts: both isolated now
    with pytest.raises(errors.NoValidHost):
        deciding.hosts_for("plain-3")
    changing.aggregates.remove_host(agg.id, "h1")
    assert deciding.hosts_for("plain-4") == {"h1"}

    changing.aggregates.set_metadata(agg.id, {"trait:CUSTOM_SECRET": None})  # metadata gone
    assert deciding.hosts_for("plain-5") == {"h1", "h2"}

    changing.aggregates.update(agg.id, None, "zone-a")  # availability zone
    assert deciding.host_for("zoned-1", availability_zone="zone-a") == "h2"
    changing.aggregates.update(agg.id, None, "zone-b")
    with pytest.raises(errors.InvalidInput, match="zone-a does not exist"):
        deciding.host_for("zoned-2", availability_zone="zone-a")
    assert deciding.host_for("zoned-3", availability_zone="zone-b") == "h2"

    changing.aggregates.remove_host(agg.id, "h2")
    changing.aggregates.delete(agg.id)  # deletion
    with pytest.raises(errors.InvalidInput, match="zone-b does not exist"):
        deciding.host_for("zoned-4", availability_zone="zone-b")


def test_every_aggregate_write_moves_the_generation(two_servers: list[Server]) -> None:
    server = two_servers[0]
    seen: list[int] = []

    def note() -> None:
        with server.db.read() as conn:
            seen.append(aggregate_db.generation(conn))

    note()
    agg = server.aggregates.create("a", None)
    note()
    server.aggregates.add_host(agg.id, "h1")
    note()
    server.aggregates.set_metadata(agg.id, {"k": "v"})
    note()
    server.aggregates.update(agg.id, "renamed", None)
    note()
    server.aggregates.remove_host(agg.id, "h1")
    note()
    server.aggregates.delete(agg.id)
    note()
    assert seen == sorted(set(seen)), f"a write left the generation alone: {seen}"


def test_failed_writes_leave_the_generation(two_servers: list[Server]) -> None:
    server = two_servers[0]
    agg = server.aggregates.create("a", None)
    with server.db.read() as conn:
        before = aggregate_db.generation(conn)
    with pytest.raises(errors.Conflict):
        server.aggregates.create("a", None)
    with pytest.raises(errors.NotFound):
        server.aggregates.remove_host(agg.id, "h1")
    with server.db.read() as conn:
        assert aggregate_db.generation(conn) == before


def test_unchanged_aggregates_are_not_read_again(two_servers: list[Server]) -> None:
    """Between two changes every decision gets the same cached tuple; a change made
    elsewhere gives a new one with it."""
    server, other = two_servers
    cache = AggregateCache(server.db)
    other.aggregates.create("a", "zone-a")
    first = cache.current()
    assert [a.name for a in first] == ["a"]
    assert cache.current() is first
    other.aggregates.update(first[0].id, "b", None)
    second = cache.current()
    assert second is not first
    assert [a.name for a in second] == ["b"]
    assert cache.current() is second
