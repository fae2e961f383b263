"""The ``openstack`` CLI against a simulated fleet: ``server migrate --live-migration
--wait``, ``server migration list/show/abort/force complete``."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from support.ci import time_bound
from support.migration_cloud import MigrationCloud

pytestmark = pytest.mark.slow  # the CLI starts in ~2 s per command; --wait polls every 2 s

CLI_VERSION = ("--os-compute-api-version", "2.80")


@pytest.fixture
def server(cloud: MigrationCloud, image: str) -> Iterator[str]:
    booted = cloud.boot(f"cli-{time.monotonic_ns()}", "m1", image)
    assert booted["OS-EXT-SRV-ATTR:host"] == "a"
    yield str(booted["id"])
    cloud.hypervisor("a").migration_duration = 0.2
    cloud.delete_server(str(booted["id"]))


def test_migrate_live_with_host_and_wait(cloud: MigrationCloud, server: str) -> None:
    result = cloud.cli.run(
        *CLI_VERSION, "server", "migrate", "--live-migration", "--host", "c", "--wait", server
    )
    assert "Complete" in result.stdout, result.stdout + result.stderr
    shown = cloud.cli.json(*CLI_VERSION, "server", "show", server)
    assert shown["OS-EXT-SRV-ATTR:host"] == "c" and shown["status"] == "ACTIVE"
    assert set(cloud.allocation_hosts(server)) == {"c"}
    assert server not in cloud.domains("a")
    listed = cloud.cli.json(*CLI_VERSION, "server", "migration", "list", "--server", server)
    (row,) = listed
    assert row["Status"] == "completed" and row["Dest Compute"] == "c"
    assert row["Type"] == "live-migration"


def test_migration_show_and_abort(cloud: MigrationCloud, server: str) -> None:
    # far longer than two CLI commands take, even on a loaded machine
    cloud.hypervisor("a").migration_duration = time_bound(60.0)
    assert cloud.migrate(server, "b").status == 202
    deadline = time.monotonic() + time_bound(10)
    while True:
        live = cloud.versioned("GET", f"/compute/v2.1/servers/{server}/migrations").body
        if live["migrations"] and live["migrations"][0]["status"] == "running":
            break
        assert time.monotonic() < deadline, "migration never ran"
        time.sleep(0.02)
    uuid = live["migrations"][0]["uuid"]
    shown = cloud.cli.json(*CLI_VERSION, "server", "migration", "show", server, uuid)
    assert shown["Status"] == "running" and shown["Dest Compute"] == "b"
    assert shown["Memory Total Bytes"] == 1024 * 1024 * 1024
    aborted = cloud.cli.run(*CLI_VERSION, "server", "migration", "abort", server, uuid, check=False)
    assert aborted.returncode == 0, (aborted.stderr, cloud.migrations(server))
    done = cloud.wait_idle(server)
    assert done["OS-EXT-SRV-ATTR:host"] == "a" and done["status"] == "ACTIVE"
    assert cloud.migrations(server)[0]["status"] == "cancelled"
    assert server in cloud.running("a") and server not in cloud.domains("b")


def test_migration_force_complete(cloud: MigrationCloud, server: str) -> None:
    cloud.hypervisor("a").migration_duration = time_bound(60.0)  # far longer than the CLI needs
    before = cloud.allocation_hosts(server)
    assert cloud.migrate(server, "b").status == 202
    deadline = time.monotonic() + time_bound(10)
    while True:
        live = cloud.versioned("GET", f"/compute/v2.1/servers/{server}/migrations").body
        if live["migrations"] and live["migrations"][0]["memory_processed_bytes"] > 0:
            break
        assert time.monotonic() < deadline, "migration never ran"
        time.sleep(0.02)
    uuid = live["migrations"][0]["uuid"]
    started = time.monotonic()
    forced = cloud.cli.run(
        *CLI_VERSION, "server", "migration", "force", "complete", server, uuid, check=False
    )
    assert forced.returncode == 0, (forced.stderr, cloud.migrations(server))
    done = cloud.wait_idle(server)
    assert time.monotonic() - started < 30  # the CLI's start-up included; natural end: 60 s
    assert done["OS-EXT-SRV-ATTR:host"] == "b" and done["status"] == "ACTIVE"
    assert server in cloud.running("b") and server not in cloud.domains("a")
    assert cloud.allocation_hosts(server) == {"b": before["a"]}
    assert cloud.migrations(server)[0]["status"] == "completed"
    again = cloud.cli.run(
        *CLI_VERSION, "server", "migration", "force", "complete", server, uuid, check=False
    )
    # the CLI looks the uuid up among the in-progress migrations: no longer there
    assert again.returncode != 0 and "is not found" in again.stderr, again.stderr
