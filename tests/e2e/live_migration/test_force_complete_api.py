"""``POST /servers/{id}/migrations/{mid}/action {"force_complete": null}`` on a
simulated fleet: a slow migration finishes long before its natural duration with the
guest running on the destination and the allocation moved; a migration that is not
running (completed, unknown, not live, not copying yet) is refused with a 4xx naming
why, and the guest is left as it was."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from support.migration_cloud import MigrationCloud
from virtfleet.db import migration_records as records
from virtfleet.db.models.migrations import Migration as MigrationRow

SLOW = 30.0  # seconds the migration would take unless forced


@pytest.fixture
def server(cloud: MigrationCloud, image: str) -> Iterator[str]:
    booted = cloud.boot(f"force-{time.monotonic_ns()}", "m1", image)
    assert booted["OS-EXT-SRV-ATTR:host"] == "a"
    yield str(booted["id"])
    cloud.hypervisor("a").migration_duration = 0.2
    cloud.delete_server(str(booted["id"]))


def force(cloud: MigrationCloud, server: str, migration: Any, **kwargs: Any) -> Any:
    body = kwargs.pop("body", {"force_complete": None})
    path = f"/compute/v2.1/servers/{server}/migrations/{migration}/action"
    return cloud.versioned("POST", path, body, **kwargs)


def wait_copying(cloud: MigrationCloud, server: str) -> dict[str, Any]:
    """The server's live migration once it copies memory."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        live = cloud.versioned("GET", f"/compute/v2.1/servers/{server}/migrations").body
        found = live["migrations"]
        if found and found[0]["status"] == "running" and found[0]["memory_processed_bytes"] > 0:
            return dict(found[0])
        time.sleep(0.02)
    raise AssertionError("the migration never copied")


@contextmanager
def fake_record(cloud: MigrationCloud, server: str, **fields: Any) -> Iterator[records.Migration]:
    """A migration record of ``server`` in the state ``fields`` give (no workflow runs
    it); ended as ``error`` afterwards so nothing takes it for a live one."""
    db = cloud.control.db
    shown = cloud.server(server)
    created = records.create(
        db,
        instance_uuid=server,
        source_compute="a",
        source_node="a",
        dest_compute="b",
        project_id=shown["tenant_id"],
        user_id=shown["user_id"],
    )
    kind = fields.pop("migration_type", None)
    if kind is not None:  # not updatable through the records API: a cold migration
        with db.session() as session:
            session.get(MigrationRow, created.id).migration_type = kind
    try:
        yield records.update(db, created.id, **fields)
    finally:
        records.update(db, created.id, status=records.ERROR)


def test_force_complete_finishes_a_slow_migration_on_the_destination(
    cloud: MigrationCloud, server: str
) -> None:
    cloud.hypervisor("a").migration_duration = SLOW
    before = cloud.allocation_hosts(server)
    assert cloud.migrate(server, "b").status == 202
    live = wait_copying(cloud, server)
    assert live["memory_remaining_bytes"] > 0
    forced_at = time.monotonic()
    reply = force(cloud, server, live["id"])
    assert reply.status == 202, reply.body
    done = cloud.wait_idle(server)
    assert time.monotonic() - forced_at < SLOW / 3  # well before its natural end
    assert done["status"] == "ACTIVE" and done["OS-EXT-STS:power_state"] == 1
    assert done["OS-EXT-SRV-ATTR:host"] == "b"
    assert server in cloud.running("b") and server not in cloud.domains("a")
    assert cloud.allocation_hosts(server) == {"b": before["a"]}
    assert cloud.allocation_hosts(str(live["uuid"])) == {}
    (migration,) = cloud.migrations(server)
    assert migration["status"] == "completed"
    # completed now: forcing it again is refused, and nothing moves
    again = force(cloud, server, live["id"])
    assert again.status == 409 and "completed" in again.message, again.body
    assert server in cloud.running("b")


def test_force_complete_refusals(cloud: MigrationCloud, server: str, image: str) -> None:
    unknown = force(cloud, server, 987654)
    assert unknown.status == 404 and "987654" in unknown.message
    not_a_number = force(cloud, server, "latest")
    assert not_a_number.status == 400 and "migration_id" in not_a_number.message
    with fake_record(cloud, server, status=records.RUNNING) as running:
        too_old = force(cloud, server, running.id, version="2.21")
        assert too_old.status == 404 and "2.22" in too_old.message
        for body in ({"force_complete": None, "host": "b"}, {"forceComplete": None}, []):
            bad = force(cloud, server, running.id, body=body)
            assert bad.status == 400 and "force_complete" in bad.message, body
        # running in the records, but no migration job runs on the source
        idle = force(cloud, server, running.id)
        assert idle.status == 409 and "no migration of" in idle.message, idle.body
    with fake_record(cloud, server, status=records.PREPARING) as preparing:
        early = force(cloud, server, preparing.id)
        assert early.status == 409 and "preparing" in early.message, early.body
    with fake_record(cloud, server, status=records.RUNNING, migration_type="migration") as cold:
        not_live = force(cloud, server, cold.id)
        assert not_live.status == 400 and "not a live migration" in not_live.message
    # another server's migration is not this server's
    with fake_record(cloud, server, status=records.RUNNING) as running:
        other = cloud.boot(f"other-{time.monotonic_ns()}", "m1", image)
        try:
            foreign = force(cloud, str(other["id"]), running.id)
            assert foreign.status == 404 and "not found" in foreign.message
        finally:
            cloud.delete_server(str(other["id"]))
    # none of it touched the guest
    assert server in cloud.running("a")
    assert cloud.hypervisor("a").record(server).state == 1  # VIR_DOMAIN_RUNNING
    assert cloud.server(server)["status"] == "ACTIVE"
