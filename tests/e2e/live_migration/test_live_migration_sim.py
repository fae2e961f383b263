"""Live migration on a simulated fleet through the Compute API: success, a failure
injected in each libvirt phase, abort, refused destinations (next host, and the final
error naming each), API validation and the migration views per microversion."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from support.migration_cloud import MigrationCloud
from virtfleet.agent.rpcapi import COMPUTE_TOPIC
from virtfleet.virt.sim import MIGRATION_PHASES


@pytest.fixture
def server(cloud: MigrationCloud, image: str) -> Iterator[str]:
    booted = cloud.boot(f"mig-{time.monotonic_ns()}", "m1", image)
    assert booted["status"] == "ACTIVE", booted
    assert booted["OS-EXT-SRV-ATTR:host"] == "a"
    yield str(booted["id"])
    for host in ("a", "b", "c"):
        cloud.hypervisor(host).clear_faults()
        cloud.hypervisor(host).migration_duration = 0.2
    cloud.delete_server(str(booted["id"]))


def test_migration_moves_guest_allocation_and_server(cloud: MigrationCloud, server: str) -> None:
    before = cloud.allocation_hosts(server)
    assert set(before) == {"a"}
    reply = cloud.migrate(server, None)
    assert reply.status == 202, reply.body
    done = cloud.wait_idle(server)
    assert done["status"] == "ACTIVE"
    assert done["OS-EXT-SRV-ATTR:host"] == "b"  # the better destination
    assert cloud.allocation_hosts(server) == {"b": before["a"]}
    assert server in cloud.running("b")
    assert server not in cloud.domains("a")
    (migration,) = cloud.migrations(server)
    assert migration["status"] == "completed"
    assert (migration["source_compute"], migration["dest_compute"]) == ("a", "b")
    assert migration["migration_type"] == "live-migration"
    assert "links" not in migration  # no longer in progress
    # the migration's own consumer holds nothing any more
    assert cloud.allocation_hosts(migration["uuid"]) == {}


def test_migration_to_a_requested_host(cloud: MigrationCloud, server: str) -> None:
    assert cloud.migrate(server, "c").status == 202
    assert cloud.wait_idle(server)["OS-EXT-SRV-ATTR:host"] == "c"
    assert set(cloud.allocation_hosts(server)) == {"c"}
    assert server in cloud.running("c") and server not in cloud.domains("a")


@pytest.mark.parametrize("phase", sorted(MIGRATION_PHASES))
@pytest.mark.parametrize("side", ["a", "b"])
def test_failure_in_each_phase_leaves_everything_as_before(
    cloud: MigrationCloud, server: str, phase: str, side: str
) -> None:
    before = cloud.allocation_hosts(server)
    cloud.hypervisor(side).inject_migration_failure(phase)
    assert cloud.migrate(server, "b").status == 202
    done = cloud.wait_idle(server)
    assert done["status"] == "ACTIVE"
    assert done["OS-EXT-SRV-ATTR:host"] == "a"
    assert server in cloud.running("a")
    assert server not in cloud.domains("b")
    assert cloud.allocation_hosts(server) == before
    (migration,) = cloud.migrations(server)
    assert migration["status"] == "failed"
    assert cloud.allocation_hosts(migration["uuid"]) == {}


def _wait_running(cloud: MigrationCloud, server: str) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = cloud.versioned("GET", f"/compute/v2.1/servers/{server}/migrations")
        assert listed.status == 200, listed.body
        live = listed.body["migrations"]
        if live and live[0]["status"] == "running" and live[0]["memory_processed_bytes"] > 0:
            return dict(live[0])
        time.sleep(0.02)
    raise AssertionError("the migration never ran")


def test_abort_cancels_and_rolls_back(cloud: MigrationCloud, server: str) -> None:
    cloud.hypervisor("a").migration_duration = 30.0
    before = cloud.allocation_hosts(server)
    assert cloud.migrate(server, "b").status == 202
    live = _wait_running(cloud, server)
    assert live["memory_total_bytes"] == 1024 * 1024 * 1024
    assert 0 < live["memory_processed_bytes"] < live["memory_total_bytes"]
    assert cloud.server(server)["status"] == "MIGRATING"
    shown = cloud.versioned("GET", f"/compute/v2.1/servers/{server}/migrations/{live['id']}")
    assert shown.status == 200 and shown.body["migration"]["uuid"] == live["uuid"]
    # while it runs (as in Nova) the migration holds the source's resources and the
    # server the destination's
    assert cloud.allocation_hosts(str(live["uuid"])) == before
    assert cloud.allocation_hosts(server) == {"b": before["a"]}
    aborted = cloud.versioned("DELETE", f"/compute/v2.1/servers/{server}/migrations/{live['id']}")
    assert aborted.status == 202, aborted.body
    done = cloud.wait_idle(server)
    assert done["OS-EXT-SRV-ATTR:host"] == "a" and done["status"] == "ACTIVE"
    assert server in cloud.running("a") and server not in cloud.domains("b")
    assert cloud.allocation_hosts(server) == before
    assert cloud.allocation_hosts(str(live["uuid"])) == {}
    (migration,) = cloud.migrations(server)
    assert migration["status"] == "cancelled"
    again = cloud.versioned("DELETE", f"/compute/v2.1/servers/{server}/migrations/{live['id']}")
    assert again.status == 409


def test_refused_destination_makes_it_try_the_next(cloud: MigrationCloud, server: str) -> None:
    transport = cloud.control.transport
    agent_b = next(agent for agent in cloud.embedded.agents if agent.host == "b")
    transport.stop_serving(COMPUTE_TOPIC, "b")  # b's agent is away: its check fails
    try:
        assert cloud.migrate(server, None).status == 202
        done = cloud.wait_idle(server)
    finally:
        from virtfleet.agent.manager import AgentEndpoint

        transport.serve(COMPUTE_TOPIC, "b", AgentEndpoint(agent_b))
    assert done["OS-EXT-SRV-ATTR:host"] == "c"
    assert set(cloud.allocation_hosts(server)) == {"c"}
    assert server in cloud.running("c")


def test_when_every_destination_refuses_the_error_names_each(
    cloud: MigrationCloud, server: str
) -> None:
    before = cloud.allocation_hosts(server)
    cloud.hypervisor("b").inject_migration_failure("begin")  # not a check: must not matter
    cloud.hypervisor("b").clear_faults()
    transport = cloud.control.transport
    agents = {agent.host: agent for agent in cloud.embedded.agents}
    for host in ("b", "c"):
        transport.stop_serving(COMPUTE_TOPIC, host)
    try:
        assert cloud.migrate(server, None).status == 202
        done = cloud.wait_idle(server)
    finally:
        from virtfleet.agent.manager import AgentEndpoint

        for host in ("b", "c"):
            transport.serve(COMPUTE_TOPIC, host, AgentEndpoint(agents[host]))
    assert done["OS-EXT-SRV-ATTR:host"] == "a" and done["status"] == "ACTIVE"
    assert cloud.allocation_hosts(server) == before
    (migration,) = cloud.migrations(server)
    assert migration["status"] == "error"
    record = cloud.control.conductor.live_migrations
    from virtfleet.db import migration_records

    error = migration_records.get(cloud.control.db, migration["id"]).error or ""
    assert "2 hosts refused" in error, error
    assert "b: no agent is serving compute.b" in error and "c: no agent is serving" in error
    assert record is not None


def test_bad_requests(cloud: MigrationCloud, server: str) -> None:
    action = f"/compute/v2.1/servers/{server}/action"
    same = cloud.migrate(server, "a")
    assert same.status == 400 and "current host" in same.message
    unknown = cloud.migrate(server, "nowhere")
    assert unknown.status == 400 and "nowhere could not be found" in unknown.message
    missing = cloud.versioned("POST", action, {"os-migrateLive": {"host": None}})
    assert missing.status == 400 and "block_migration" in missing.message
    auto_too_early = cloud.versioned(
        "POST", action, {"os-migrateLive": {"host": None, "block_migration": "auto"}}, "2.24"
    )
    assert auto_too_early.status == 400 and "2.25" in auto_too_early.message
    force_too_early = cloud.versioned(
        "POST",
        action,
        {"os-migrateLive": {"host": "b", "block_migration": "auto", "force": True}},
        "2.29",
    )
    assert force_too_early.status == 400 and "force" in force_too_early.message
    shared = cloud.migrate(server, "b", force=False)
    assert shared.status == 202
    cloud.wait_idle(server)
    # block migration demanded although the instance directory is shared: refused
    blocked = cloud.versioned(
        "POST", action, {"os-migrateLive": {"host": "c", "block_migration": True}}
    )
    assert blocked.status == 202
    cloud.wait_idle(server)
    last = cloud.migrations(server)[0]
    assert last["status"] == "error"
    assert cloud.server(server)["OS-EXT-SRV-ATTR:host"] == "b"


def test_views_follow_the_microversion(cloud: MigrationCloud, server: str) -> None:
    assert cloud.migrate(server, "b").status == 202
    cloud.wait_idle(server)
    old = cloud.versioned("GET", f"/compute/v2.1/os-migrations?instance_uuid={server}", None, "2.1")
    (entry,) = old.body["migrations"]
    assert "migration_type" not in entry and "uuid" not in entry and "user_id" not in entry
    new = cloud.migrations(server)[0]
    assert {"migration_type", "uuid", "user_id", "project_id"} <= set(new)
    too_old = cloud.versioned("GET", f"/compute/v2.1/servers/{server}/migrations", None, "2.22")
    assert too_old.status == 404
    none_running = cloud.versioned("GET", f"/compute/v2.1/servers/{server}/migrations")
    assert none_running.body == {"migrations": []}
    paged = cloud.versioned("GET", "/compute/v2.1/os-migrations?limit=0")
    assert paged.body == {"migrations": []}
