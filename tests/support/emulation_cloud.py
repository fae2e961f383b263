"""An in-process cloud (EmbeddedCloud over HTTP) on a small mixed-architecture fleet.

Hosts: ``x86-emu`` (x86_64 KVM, emulates aarch64 and ppc64le), ``x86-plain`` (x86_64
KVM, no emulators, the most RAM so the RAM weigher alone would pick it) and ``arm``
(aarch64 KVM, emulates x86_64, room for exactly two 1 GiB guests).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from support.clouds import EmbeddedView, Recipe
from virtfleet.cli.apiclient import APIError, Client
from virtfleet.db import hosts

FLEET = """
defaults:
  libvirt_version: "9.0.0"
  qemu_version: "8.2.0"
  disk_gb: 100
hosts:
  - name: x86-emu
    arch: x86_64
    emulators: [aarch64, ppc64le]
    cpus: 8
    memory_mb: 16384
  - name: x86-plain
    arch: x86_64
    cpus: 8
    memory_mb: 32768
  - name: arm
    arch: aarch64
    emulators: [x86_64]
    cpus: 4
    memory_mb: 2560
"""
HOSTS = ("x86-emu", "x86-plain", "arm")
ARM_ROOM = 2  # 1 GiB guests that fit on "arm" (2560 MiB - 512 MiB reserved)
RECIPE = Recipe(
    fleet=FLEET,
    source="emulation-fleet",
    conf={"compute__resource_provider_refresh_interval": 0},  # tests refresh explicitly
)


@dataclass
class EmulationCloud(EmbeddedView):
    """The running cloud, its API client, and ways to look behind the API."""

    @property
    def api(self) -> Client:
        return self.client

    def traits(self, host: str) -> set[str]:
        uuid = hosts.get_host_by_name(self.control.db, host).uuid
        return set(self.control.placement.get_provider_traits(uuid)[1])

    def cpu_info(self, host: str) -> dict[str, Any]:
        return dict(hosts.get_host_by_name(self.control.db, host).cpu_info)

    def image(self, name: str, **properties: str) -> str:
        return self.api.create_image(name, b"\0" * 4096, properties)

    def boot(self, image_id: str, flavor_id: str, name: str = "guest") -> dict[str, Any]:
        """Boot and wait until the server leaves BUILD (and, in ERROR, has its fault: the
        conductor records the fault just after the state)."""
        server = self.api.wait_server(self.api.boot(name, flavor_id, image_id), timeout=30)
        if server["status"] == "ERROR":
            wait_until(lambda: "fault" in self.api.server(server["id"]))
            server = self.api.server(server["id"])
        return server

    def domain_xml(self, server: dict[str, Any]) -> str:
        host = server["OS-EXT-SRV-ATTR:host"]
        return str(self.agent(host).driver.get_domain_xml(server["id"]))

    def delete_all_servers(self) -> None:
        listed = self.api.compute("GET", "/servers")["servers"]
        for server in listed:
            try:
                self.api.compute("DELETE", f"/servers/{server['id']}")
            except APIError as exc:
                if exc.status != 404:  # gone already (a delete in flight)
                    raise
        wait_until(lambda: not self.api.compute("GET", "/servers")["servers"])


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def api_error(call: Callable[[], object]) -> APIError:
    """The APIError ``call`` raises (fails the test when it does not raise)."""
    with pytest.raises(APIError) as caught:
        call()
    return caught.value
