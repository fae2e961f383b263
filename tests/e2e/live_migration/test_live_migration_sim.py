"""Live migration on a simulated fleet through the Compute API: success, a failure
injected in each libvirt phase, abort, refused destinations (next host, and the final
error naming each), API validation and the migration views per microversion; and what
a scrape of /metrics and the action log lines show after a boot storm, a failed boot,
deletes and a migration."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from webob import Request

from support.migration_cloud import HOSTS, MigrationCloud
from virtfleet.agent.rpcapi import COMPUTE_TOPIC
from virtfleet.observability import logs, request_id
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
    force_too_late = cloud.migrate(server, "b", force=False)  # 2.80: force is gone (2.68)
    assert force_too_late.status == 400 and "'force' unexpected" in force_too_late.message
    shared = cloud.versioned(
        "POST",
        action,
        {"os-migrateLive": {"host": "b", "block_migration": "auto", "force": False}},
        "2.67",
    )
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


def _scrape(cloud: MigrationCloud) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``/metrics`` (as the admin), by name and labels."""
    reply = Request.blank("/metrics").get_response(cloud.control.app)
    assert reply.status_int == 200, reply.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def _delta(
    before: dict[tuple[str, frozenset[tuple[str, str]]], float],
    after: dict[tuple[str, frozenset[tuple[str, str]]], float],
    name: str,
    **labels: str,
) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_metrics_and_logs_of_a_boot_storm_a_failure_deletes_and_a_migration(
    cloud: MigrationCloud, image: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A scrape after 6 boots at once, 1 boot no host can take, a live migration and
    7 deletes counts exactly those; each finished action has one INFO line with its
    duration and the id of the request that asked for it."""
    caplog.handler.addFilter(logs.RequestIdFilter())
    caplog.set_level(logging.INFO, logger="virtfleet.servers.actions")
    assert cloud.flavor("metrics-huge", ram=10**7).status == 200
    before = _scrape(cloud)
    request_ids = [request_id.new() for _ in range(6)]
    created = []
    for n, rid in enumerate(request_ids):  # the storm: every create before any is done
        req = Request.blank("/compute/v2.1/servers", method="POST")
        req.headers["X-OpenStack-Request-ID"] = rid
        req.json = {"server": {"name": f"storm-{n}", "flavorRef": "m1", "imageRef": image}}
        reply = req.get_response(cloud.control.app)
        assert reply.status_int == 202, reply.text
        assert reply.headers["x-openstack-request-id"] == rid
        created.append(reply.json["server"]["id"])
    failed = cloud.create_server("storm-too-big", "metrics-huge", image)
    assert failed.status == 202
    uuids = [*created, failed.body["server"]["id"]]
    for uuid in created:
        assert cloud.wait_idle(uuid)["status"] == "ACTIVE"
    assert cloud.wait_idle(uuids[-1])["status"] == "ERROR"
    cloud.control.conductor.drain(30)
    booted = _scrape(cloud)
    moved = created[0]
    assert cloud.migrate(moved, "c").status == 202
    assert cloud.wait_idle(moved)["OS-EXT-SRV-ATTR:host"] == "c"
    for uuid in uuids:
        cloud.delete_server(uuid)
    cloud.control.conductor.drain(30)
    after = _scrape(cloud)

    actions = "virtfleet_server_actions_total"
    assert _delta(before, after, actions, action="create", outcome="success") == 6
    assert _delta(before, after, actions, action="create", outcome="error") == 1
    assert _delta(before, after, actions, action="delete", outcome="success") == 7
    assert _delta(before, after, actions, action="delete", outcome="error") == 0
    assert _delta(before, after, actions, action="live-migration", outcome="success") == 1
    assert _delta(before, after, actions, action="live-migration", outcome="error") == 0
    durations = "virtfleet_server_action_duration_seconds_count"
    assert _delta(before, after, durations, action="create", outcome="success") == 6
    api = "virtfleet_api_request_duration_seconds_count"
    assert (
        _delta(before, after, api, method="POST", route="/compute/v2.1/servers", status="202") == 7
    )
    one_server = "/compute/v2.1/servers/{server_id}"
    assert _delta(before, after, api, method="DELETE", route=one_server, status="204") == 7
    rpc = "virtfleet_rpc_call_duration_seconds_count"
    assert _delta(before, after, rpc, topic="compute", method="spawn", outcome="ok") == 6
    assert _delta(before, after, rpc, topic="compute", method="destroy", outcome="ok") >= 6
    assert _delta(before, after, rpc, topic="compute", method="live_migrate", outcome="ok") == 1
    decisions = "virtfleet_scheduler_decision_duration_seconds_count"
    assert _delta(before, after, decisions, outcome="found") >= 7  # 6 boots, 1 destination
    assert _delta(before, after, decisions, outcome="no_valid_host") >= 1
    claims = "virtfleet_scheduler_claim_duration_seconds_count"
    assert _delta(before, after, claims, outcome="claimed") >= 7
    assert _delta(before, after, "virtfleet_scheduler_candidates_count") >= 7

    # placement's gauges: the 6 guests' VCPUs while they ran, none after the deletes
    usage = "virtfleet_placement_usage"
    for host in HOSTS:
        assert (usage, frozenset({"provider": host, "resource_class": "VCPU"}.items())) in after
    vcpus = [
        _delta(before, snap, usage, provider=host, resource_class="VCPU")
        for snap in (booted, after)
        for host in HOSTS
    ]
    assert sum(vcpus[:3]) == 6 and sum(vcpus[3:]) == 0
    capacity = after[
        (
            "virtfleet_placement_capacity",
            frozenset({"provider": "a", "resource_class": "MEMORY_MB"}.items()),
        )
    ]
    assert capacity > 0
    ages = {
        h: after[("virtfleet_agent_heartbeat_age_seconds", frozenset({"host": h}.items()))]
        for h in HOSTS
    }
    assert all(0 <= age < 600 for age in ages.values()), ages

    # one INFO line per finished action, with its duration, under the asking request
    lines = [r for r in caplog.records if r.name == "virtfleet.servers.actions"]
    for uuid, rid in zip(created, request_ids, strict=True):
        (create,) = [r for r in lines if r.getMessage().startswith(f"create of server {uuid} ")]
        assert re.search(r" succeeded in \d+\.\d{3}s$", create.getMessage())
        assert getattr(create, "request_id", None) == rid
    (too_big,) = [r for r in lines if r.getMessage().startswith(f"create of server {uuids[-1]} ")]
    assert " failed in " in too_big.getMessage() and "No valid host" in too_big.getMessage()
    migrated = [
        r.getMessage()
        for r in lines
        if r.getMessage().startswith(f"live-migration of server {moved}")
    ]
    assert len(migrated) == 1 and " succeeded in " in migrated[0]
    deleted = [r for r in lines if r.getMessage().startswith("delete of server ")]
    assert {u for u in uuids if any(u in r.getMessage() for r in deleted)} == set(uuids)
