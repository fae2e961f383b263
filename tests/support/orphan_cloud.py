"""An embedded cloud on a small simulated fleet for the down-host and orphan tests:
agents report every second, a host silent for 4 s is down; helpers to stop an agent,
stand in an agent that never answers, and read the hypervisors' domains."""

from __future__ import annotations

import os
import pathlib
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

from lxml import etree

from support.clouds import Recipe
from support.fleets import kvm_fleet
from support.migration_cloud import MigrationCloud
from virtfleet.agent.rpcapi import COMPUTE_TOPIC
from virtfleet.db import hosts, servers
from virtfleet.virt.libvirt.config.domain import METADATA_NS
from virtfleet.virt.libvirt.host import instances_path

DOWN_AFTER = 4
FLEET = kvm_fleet(
    defaults="  config: {compute: {resource_provider_refresh_interval: 1}}\n",
    hosts="  - {name: a, memory_mb: 65536}\n"
    "  - {name: b, memory_mb: 32768}\n"
    "  - {name: c, memory_mb: 16384}\n",
)
HOSTS = ("a", "b", "c")
VF = f"{{{METADATA_NS}}}"
RECIPE = Recipe(
    fleet=FLEET, source="orphans-fleet.yaml", conf={"compute__host_down_after": DOWN_AFTER}
)


class Unreachable:
    """Stands in for an agent that never answers: every call hangs until released
    (or ``hang`` seconds pass) and is recorded."""

    def __init__(self, hang: float = 30.0) -> None:
        self.calls: list[str] = []
        self.released = threading.Event()
        self._hang = hang

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)

        def hang(**_: Any) -> None:
            self.calls.append(method)
            self.released.wait(self._hang)

        return hang


class OrphanCloud(MigrationCloud):
    def host_of(self, uuid: str) -> str:
        host = servers.get(self.control.db, uuid).host
        assert host, f"server {uuid} is on no host"
        return host

    def instance_dir(self, host: str, uuid: str) -> pathlib.Path:
        return pathlib.Path(instances_path(self.agent(host).conf)) / uuid

    def take_down(self, host: str) -> Unreachable:
        """Stop ``host``'s agent, serve a never-answering stand-in in its place, and
        wait until the control plane counts the host as down."""
        self.agent(host).stop()
        stand_in = Unreachable()
        self.control.transport.serve(COMPUTE_TOPIC, host, stand_in)
        deadline = time.monotonic() + 3 * DOWN_AFTER
        while not hosts.host_is_down(self.control.db, host, DOWN_AFTER):
            assert time.monotonic() < deadline, f"host {host} never counted as down"
            time.sleep(0.1)
        return stand_in

    def bring_back(self, host: str, stand_in: Unreachable) -> None:
        """Remove the stand-in and start the real agent again (it reports at once)."""
        self.control.transport.stop_serving(COMPUTE_TOPIC, host)
        stand_in.released.set()
        self.agent(host).start()

    def define_copy(
        self,
        host: str,
        xml: str,
        *,
        uuid: str | None = None,
        name: str | None = None,
        metadata: bool = True,
        instance_dir: str | None = None,
    ) -> str:
        """Define (and start) on ``host`` a domain made from ``xml`` with another
        uuid/name, without virtfleet's metadata or with another instance directory;
        returns its uuid."""
        root = etree.fromstring(xml.encode())
        new_uuid = uuid or str(uuidlib.uuid4())
        root.find("uuid").text = new_uuid  # type: ignore[union-attr]  # domains have one
        root.find("name").text = name or f"vf-{new_uuid}"  # type: ignore[union-attr]
        meta = root.find(f"metadata/{VF}instance")
        assert meta is not None
        if not metadata:
            meta.getparent().remove(meta)  # type: ignore[union-attr]  # inside <metadata>
        else:
            meta.find(f"{VF}uuid").text = new_uuid  # type: ignore[union-attr]
            if instance_dir is not None:
                meta.find(f"{VF}instance-dir").text = instance_dir  # type: ignore[union-attr]
        conn = self.agent(host).driver.connection  # type: ignore[attr-defined]  # LibvirtDriver
        conn.defineXML(etree.tostring(root, encoding="unicode")).create()
        return new_uuid


def exists(path: pathlib.Path | str) -> bool:
    return os.path.exists(path)
