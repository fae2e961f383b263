"""A control cloud (support/control.py) whose one host is the sample 8/4/4/1x8 slice
server, its agent configured from its fleet profile (slices included)."""

from __future__ import annotations

import contextlib
import pathlib
import threading
import time
import wsgiref.simple_server
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

from support.clouds import Recipe
from support.control import ControlCloud, control_cloud
from virtfleet import conf as vconf
from virtfleet.agent.manager import ComputeAgent
from virtfleet.api.app import make_app
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.db import flavors, servers
from virtfleet.db.engine import Database
from virtfleet.db.hosts import host_uuid
from virtfleet.network.physnets import parse_physical_networks
from virtfleet.network.service import NetworkService
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.libvirt.slices import provider_uuid

SLICES_DIR = pathlib.Path(str(resources.files("virtfleet") / "data" / "slices"))
HOST = "gpu-1"
SLICE_1, SLICE_4, SLICE_8 = "CUSTOM_SLICE_1", "CUSTOM_SLICE_4", "CUSTOM_SLICE_8"


def slice_entries(halves: int = 2) -> str:
    """The fleet file lines of the 8/4/4/1x8 tree (``halves`` 4-slices of it)."""
    lines = [
        f"      - {{name: slice-8, resource_class: {SLICE_8}, "
        f"template_file: {SLICES_DIR}/slice-8.xml.j2}}"
    ]
    for half in range(halves):
        lines.append(
            f"      - {{name: slice-4-{half}, resource_class: {SLICE_4}, "
            f"template_file: {SLICES_DIR}/slice-4.xml.j2, conflict_parent: slice-8}}"
        )
        for eighth in range(half * 4, half * 4 + 4):
            lines.append(
                f"      - {{name: slice-1-{eighth}, resource_class: {SLICE_1}, "
                f"template_file: {SLICES_DIR}/slice-1.xml.j2, conflict_parent: slice-4-{half}}}"
            )
    return "\n".join(lines)


def fleet_text(slices: str | None = None) -> str:
    gpus = "\n".join(
        f'      - {{address: "0000:{bus}:00.0", numa_node: {i // 4}, product: "A100"}}'
        for i, bus in enumerate(("1a", "1b", "3d", "3e", "88", "89", "b1", "b2"))
    )
    return f"""
hosts:
  - name: {HOST}
    arch: x86_64
    virt_type: kvm
    libvirt_version: "9.0.0"
    qemu_version: "8.2.0"
    cpus: 64
    memory_mb: 524288
    disk_gb: 1000
    cpu_mode: host-passthrough
    numa:
      - {{cpus: "0-31", memory_mb: 262144}}
      - {{cpus: "32-63", memory_mb: 262144}}
    gpus:
{gpus}
    slices:
{slices if slices is not None else slice_entries()}
"""


class SliceCloud(ControlCloud):
    """The slice host's cloud; ``agent`` and ``driver`` are its one host's."""

    @property
    def agent(self) -> ComputeAgent:
        return self.agents[HOST]

    @agent.setter
    def agent(self, agent: ComputeAgent) -> None:
        self.agents[HOST] = agent

    @property
    def driver(self) -> LibvirtDriver:
        return self.drivers[HOST]

    def flavor(self, extra_specs: Mapping[str, str]) -> dict[str, Any]:
        name = f"slice-{len(extra_specs)}-{time.monotonic_ns()}"
        flavor = flavors.create(
            self.db, name=name, vcpus=0, memory_mb=0, root_gb=0, extra_specs=dict(extra_specs)
        )
        return flavor.snapshot()

    def create_server(
        self,
        extra_specs: Mapping[str, str],
        name: str = "vm",
        metadata: dict[str, str] | None = None,
    ) -> str:
        return self.new_server(self.flavor(extra_specs), name=name, metadata=metadata)

    def boot(
        self,
        extra_specs: Mapping[str, str],
        name: str = "vm",
        metadata: dict[str, str] | None = None,
    ) -> servers.Server:
        return self.build(self.create_server(extra_specs, name, metadata))

    def boot_slice(self, resource_class: str) -> servers.Server:
        return self.boot({f"resources:{resource_class}": "1"})

    def delete(self, uuid: str) -> None:
        self.conductor.delete_server(uuid)
        self.conductor.drain(30)

    def taken(self, uuid: str) -> set[str]:
        """Slice names the instance's allocation holds."""
        names = {provider_uuid(HOST, f"slice-{n}"): f"slice-{n}" for n in _SLICE_NUMBERS}
        allocations = self.placement.get_consumer_allocations(uuid).allocations
        return {names[rp] for rp in allocations if rp in names}

    def used_slices(self) -> set[str]:
        used = set()
        for number in _SLICE_NUMBERS:
            rp = provider_uuid(HOST, f"slice-{number}")
            if any(self.placement.provider_usages(rp)[1].values()):
                used.add(f"slice-{number}")
        return used


_SLICE_NUMBERS = ["8", "4-0", "4-1", *(f"1-{i}" for i in range(8))]


def root_uuid() -> str:
    return host_uuid(HOST)


def make_slice_cloud(tmp_path: pathlib.Path, db: Database, text: str | None = None) -> SliceCloud:
    """The slice cloud on :func:`fleet_text` (or ``text``)."""
    recipe = Recipe(fleet=text or fleet_text(), source="slice-fleet.yaml")
    return control_cloud(tmp_path, db, recipe, SliceCloud, setup="profile")


class _Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_api(cloud: SliceCloud) -> Iterator[str]:
    """The cloud's HTTP APIs (compute, image, placement) on a free local port; yields
    the endpoint."""
    conf = vconf.make_conf(api__auth_strategy="noauth")  # not an identity test
    app = make_app(
        ComputeDeps(
            db=cloud.db,
            placement=cloud.placement,
            conductor=cloud.conductor,
            images=cloud.images,
            conf=conf,
            scheduler=cloud.scheduler,
            owner=cloud.conductor.name,
        ),
        NetworkService(cloud.db, parse_physical_networks(conf.network.physical_networks)),
    )
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
