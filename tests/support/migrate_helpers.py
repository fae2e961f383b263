"""Run a live migration through the conductor's workflow (no HTTP) and wait for it."""

from __future__ import annotations

import time
from typing import Any

from virtfleet.db import migration_records as records
from virtfleet.db import servers


def migrate(cloud: Any, uuid: str, host: str | None, wait: bool = True) -> records.Migration:
    """Start the live migration of ``uuid`` (to ``host`` or a scheduled one)."""
    servers.update(cloud.db, uuid, task_state="migrating")
    migration = cloud.conductor.live_migrations.start(uuid, host, "auto", False)
    if wait:
        cloud.conductor.drain(60)
    return records.get(cloud.db, migration.id)


def wait_running(cloud: Any, migration_id: int, timeout: float = 10) -> None:
    """Wait until the migration record says ``running`` (fails the test after
    ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while records.get(cloud.db, migration_id).status != "running":
        assert time.monotonic() < deadline, "the migration never ran"
        time.sleep(0.02)


def start_slow_migration(
    cloud: Any, extra_specs: dict[str, str], seconds: float
) -> tuple[servers.Server, str, records.Migration]:
    """Boot a guest with ``extra_specs`` (it lands on vgpu-1 or vgpu-2) and start its
    live migration to the other of the two, made to take ``seconds``; returns the
    server, the destination and the migration once its libvirt job runs (the record
    says ``running`` just before the source is asked to start the job)."""
    server = cloud.boot(**extra_specs)
    dest = "vgpu-2" if server.host == "vgpu-1" else "vgpu-1"
    cloud.hypervisor(server.host).migration_duration = seconds
    started = migrate(cloud, server.uuid, dest, wait=False)
    wait_running(cloud, started.id)
    deadline = time.monotonic() + 10
    source = cloud.hypervisor(server.host)
    while source.record(server.uuid).job is None and records.get(cloud.db, started.id).in_progress:
        assert time.monotonic() < deadline, "the migration job never started"
        time.sleep(0.01)
    return server, dest, started
