"""An in-process embedded cloud on a small simulated fleet for live-migration tests,
with helpers that speak the Compute API (WSGI calls into the real app)."""

from __future__ import annotations

import time
from typing import Any

from support.clouds import Recipe
from support.fleet_cloud import FleetCloud, Reply
from support.fleets import kvm_fleet
from virtfleet.db import hosts

# Servers boot on "a" (most free RAM); from there "b" is the better destination.
FLEET = kvm_fleet("""\
  - {name: a, memory_mb: 65536}
  - {name: b, memory_mb: 32768}
  - {name: c, memory_mb: 16384}
""")
HOSTS = ("a", "b", "c")
MV = {"OpenStack-API-Version": "compute 2.80"}
RECIPE = Recipe(
    fleet=FLEET,
    source="migration-fleet.yaml",
    conf={"scheduler__max_attempts": 3, "libvirt__live_migration_progress_interval": 0.02},
)


class MigrationCloud(FleetCloud):
    def versioned(self, method: str, path: str, body: Any = None, version: str = "2.80") -> Reply:
        """A Compute API request at ``version``."""
        return self.call(method, path, body, microversion=version)

    def domains(self, name: str) -> list[str]:
        """Instance uuids with a domain on host ``name``."""
        return [r.definition.uuid for r in self.hypervisor(name).records()]

    def running(self, name: str) -> list[str]:
        return [r.definition.uuid for r in self.hypervisor(name).records() if r.active]

    def host_uuid(self, name: str) -> str:
        return hosts.get_host_by_name(self.control.db, name).uuid

    def allocation_hosts(self, consumer: str) -> dict[str, dict[str, int]]:
        """Host name -> resources the consumer holds there."""
        names = {self.host_uuid(h): h for h in HOSTS}
        held = self.control.placement.get_consumer_allocations(consumer).allocations
        return {names.get(rp, rp): dict(a.resources) for rp, a in held.items()}

    def server(self, uuid: str) -> dict[str, Any]:
        shown = self.versioned("GET", f"/compute/v2.1/servers/{uuid}")
        assert shown.status == 200, shown.body
        return dict(shown.body["server"])

    def migrate(self, uuid: str, host: str | None, **extra: Any) -> Reply:
        body = {"os-migrateLive": {"host": host, "block_migration": "auto", **extra}}
        return self.versioned("POST", f"/compute/v2.1/servers/{uuid}/action", body)

    def wait_idle(self, uuid: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the server's task ended; its body."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.server(uuid)
            if server["OS-EXT-STS:task_state"] is None:
                return server
            time.sleep(0.02)
        raise AssertionError(f"server {uuid} still has a task after {timeout} s")

    def migrations(self, uuid: str) -> list[dict[str, Any]]:
        listed = self.versioned("GET", f"/compute/v2.1/os-migrations?instance_uuid={uuid}")
        assert listed.status == 200, listed.body
        return list(listed.body["migrations"])
