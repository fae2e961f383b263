"""A simulated two-host cloud driven through the real ``openstack`` CLI, with the
placement usage of each host at hand (the day-2 commands are checked against it
after every step)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from support.clouds import EmbeddedView
from support.openstack_cli import CLI
from support.plugin import StartSimCloud
from virtfleet.cli import clouds

FLEET = """
defaults: {virt_type: kvm, cpus: 8, memory_mb: 16384, disk_gb: 100, arch: x86_64}
hosts:
  - {name: day2-a}
  - {name: day2-b}
"""
ZERO = {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
SMALL = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}


@dataclass
class Day2Cloud:
    view: EmbeddedView
    cli: CLI

    def run(self, *args: str, check: bool = True) -> Any:
        return self.cli.run("--os-compute-api-version", "2.96", *args, check=check)

    def json(self, *args: str) -> Any:
        return self.cli.json("--os-compute-api-version", "2.96", *args)

    def usage(self, host: str) -> dict[str, int]:
        """The host's placement usage (VCPU, MEMORY_MB, DISK_GB)."""
        hypervisor = next(
            h
            for h in self.view.client.compute("GET", "/os-hypervisors")["hypervisors"]
            if h["hypervisor_hostname"] == host
        )
        reply = self.view.client.request(
            "GET",
            f"/placement/resource_providers/{hypervisor['id']}/usages",
            headers={"OpenStack-API-Version": "placement 1.9"},
        )
        return {k: int(reply["usages"].get(k, 0)) for k in ZERO}

    def usages(self) -> dict[str, dict[str, int]]:
        return {host: self.usage(host) for host in ("day2-a", "day2-b")}

    def server(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.json("server", "show", name)
        return found

    def wait(self, name: str, wanted: Callable[[dict[str, Any]], bool], timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.server(name)
            if wanted(shown):
                return shown
            assert time.monotonic() < deadline, f"{name} never got there: {shown}"
            time.sleep(0.2)

    def events(self, name: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.json("server", "event", "list", "--long", name)
        return found

    def event(self, name: str, request_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.json("server", "event", "show", name, request_id)
        return found


@pytest.fixture(scope="module")
def day2(start_sim_cloud: StartSimCloud, tmp_path_factory: pytest.TempPathFactory) -> Day2Cloud:
    view = start_sim_cloud(FLEET, hosts=2)
    clouds_yaml = tmp_path_factory.mktemp("day2-cli") / "clouds.yaml"
    clouds.write_entry(clouds_yaml, clouds.noauth_entry(view.endpoint))
    cloud = Day2Cloud(view, CLI(clouds_yaml, []))
    cloud.run("flavor", "create", "--vcpus", "1", "--ram", "512", "--disk", "1", "day2.small")
    view.client.create_image("day2-image", b"\0" * 65536, {"hw_architecture": "x86_64"})
    return cloud
