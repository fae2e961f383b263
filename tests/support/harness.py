"""A small cloud without HTTP: real placement on SQLite, the real scheduler, the
conductor, LocalTransport, and one agent per simulated host of a small fleet."""

from __future__ import annotations

import pathlib
import time
import uuid as uuid_lib
from collections.abc import Callable
from typing import Any

from support.clouds import Recipe
from support.control import ControlCloud, control_cloud
from virtfleet.db import flavors, servers
from virtfleet.db.engine import Database
from virtfleet.db.hosts import host_uuid
from virtfleet.virt.types import GuestSpec

# "big" has more RAM, so the RAM weigher tries it first.
FLEET = """
defaults:
  arch: x86_64
  virt_type: kvm
  emulators: [aarch64]
  libvirt_version: "9.0.0"
  qemu_version: "8.2.0"
  disk_gb: 100
  maxphysaddr_bits: 46
hosts:
  - {name: big, cpus: 2, memory_mb: 16384}
  - {name: small, cpus: 8, memory_mb: 8192}
"""


#: The harness cloud: "big" and "small", the RAM weigher alone deciding.
RECIPE = Recipe(
    fleet=FLEET, source="test-fleet.yaml", conf={"scheduler__weights": {"ram": "1.0", "vcpu": "0"}}
)


class Cloud(ControlCloud):
    """A control cloud with helpers to make flavors, images and servers."""

    def add_image(self, **properties: str) -> str:
        """A new image with data and ``properties``; returns its id."""
        body = {"name": "img", "disk_format": "qcow2", "container_format": "bare", **properties}
        image = self.images.create(body)
        self.images.upload(image.id, [b"\0" * 4096])
        return image.id

    def create_server(
        self,
        vcpus: int = 1,
        memory_mb: int = 512,
        root_gb: int = 1,
        image_id: str | None = None,
        **extra_specs: str,
    ) -> str:
        name = f"f{vcpus}-{memory_mb}-{root_gb}-{len(extra_specs)}-{time.monotonic_ns()}"
        flavor = flavors.create(
            self.db,
            name=name,
            vcpus=vcpus,
            memory_mb=memory_mb,
            root_gb=root_gb,
            extra_specs=extra_specs,
        )
        return self.new_server(flavor.snapshot(), image_id)

    def boot(self, **kwargs: Any) -> servers.Server:
        return self.build(self.create_server(**kwargs))

    def usages(self, host: str) -> dict[str, int]:
        return {
            rc: n for rc, n in self.placement.provider_usages(self.root_of(host))[1].items() if n
        }

    def root_of(self, host: str) -> str:
        return host_uuid(host)

    def occupy(self, host: str, memory_mb: int) -> str:
        """Start a guest placement does not know about, using ``memory_mb`` of the
        host's real memory (so a guest placement lets in cannot start)."""
        uuid = str(uuid_lib.uuid4())
        instance_dir = self.tmp_path / "foreign" / uuid
        self.drivers[host].spawn(
            GuestSpec(
                instance_uuid=uuid,
                name="foreign",
                vcpus=1,
                memory_mb=memory_mb,
                instance_dir=str(instance_dir),
                console_log_path=str(instance_dir / "console.log"),
            )
        )
        return uuid

    def domains(self, host: str) -> list[str]:
        return self.drivers[host].list_instance_uuids()


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def make_cloud(tmp_path: pathlib.Path, db: Database, fleet_text: str = FLEET) -> Cloud:
    """The harness cloud (:data:`RECIPE`, optionally on another fleet)."""
    return control_cloud(tmp_path, db, RECIPE.but(fleet=fleet_text), Cloud)
