"""The conductor and an agent on the real libvirtd (qemu:///system): a TCG guest boots
from a real kernel to ACTIVE, prints to its console, is stopped, started, killed
behind our back (seen as SHUTOFF through libvirt's lifecycle events) and deleted
leaving nothing; a guest QEMU cannot start ends in ERROR with libvirt's message."""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest
from lxml import etree

from support.ci import unavailable
from support.control import guest_request_of
from support.harness import wait_for
from virtfleet import conf as vconf
from virtfleet.agent import image_cache
from virtfleet.agent.manager import ComputeAgent
from virtfleet.api.compute.boot_checks import image_snapshot
from virtfleet.conductor.manager import Conductor
from virtfleet.control_plane import ImageServiceSource
from virtfleet.db import flavors, servers
from virtfleet.db.engine import Database
from virtfleet.image.file_store import FileStore
from virtfleet.image.service import ImageService
from virtfleet.placement.service import PlacementService
from virtfleet.rpc.transport import LocalTransport
from virtfleet.scheduler.manager import Scheduler
from virtfleet.virt import event_loop
from virtfleet.virt.libvirt.driver import LibvirtDriver

pytestmark = pytest.mark.libvirt

URI = "qemu:///system"
GUEST_IMAGES = pathlib.Path(os.environ.get("VIRTFLEET_IMAGES", "/var/lib/virtfleet/guest-images"))
KERNEL = GUEST_IMAGES / "vmlinuz-x86_64"
INITRD = GUEST_IMAGES / "initrd-x86_64.gz"


def _quiet(_ctx: Any, _err: Any) -> None:
    """libvirt-python prints every error to stderr by default; the tests check codes."""


class Stack:
    def __init__(self, tmp_path: pathlib.Path, db: Database) -> None:
        event_loop.ensure_running()  # before opening: libvirt's lifecycle events
        libvirt.registerErrorHandler(_quiet, None)
        self.db = db
        self.conn = libvirt.open(URI)
        conf = vconf.make_conf(
            data_dir=str(tmp_path),
            host="local",
            libvirt__virt_type="qemu",
            libvirt__connection_uri=URI,
            compute__resource_provider_refresh_interval=0,
            compute__shutdown_timeout=0,  # the busybox guest ignores ACPI: force at once
            reserved_host_memory_mb=0,
            scheduler__host_cache_seconds=0,
        )
        self.placement = PlacementService(db)
        self.transport = LocalTransport()
        self.images = ImageService(db, FileStore(tmp_path))
        self.conductor = Conductor(
            conf,
            db,
            self.placement,
            Scheduler(conf, db, self.placement),
            self.transport,
            self.images,
        )
        self.conductor.start()
        self.driver = LibvirtDriver(self.conn, conf)
        images = image_cache.from_conf(conf, ImageServiceSource(self.images))
        self.agent = ComputeAgent(conf, "local", self.driver, self.transport, images=images)
        self.agent.start()

    def image(self, kernel: bytes, initrd: bytes | None) -> str:
        ids: dict[str, str] = {}
        for role, data in (("kernel", kernel), ("ramdisk", initrd)):
            if data is None:
                continue
            fmt = "aki" if role == "kernel" else "ari"
            record = self.images.create({"name": role, "disk_format": fmt, "container_format": fmt})
            self.images.upload(record.id, [data])
            ids[f"{role}_id"] = record.id
        boot = self.images.create(
            {
                "name": "linux",
                "disk_format": "ami",
                "container_format": "ami",
                "os_command_line": "console=ttyS0 panic=-1",
                **ids,
            }
        )
        return boot.id

    def boot(self, image_id: str) -> servers.Server:
        flavor = flavors.create(self.db, name=f"f-{time.monotonic_ns()}", vcpus=1, memory_mb=256)
        server = servers.create(
            self.db,
            name="vm",
            flavor=flavor.snapshot(),
            image_ref=image_id,
            image=dict(image_snapshot(self.images.get(image_id))),
            guest_request=guest_request_of(
                flavor.snapshot(), image_snapshot(self.images.get(image_id))
            ),
            project_id="p",
            user_id="u",
        )
        self.conductor.build_server(server.uuid)
        self.conductor.drain(120)
        return servers.get(self.db, server.uuid)

    def run(self, method: str, uuid: str, *args: Any) -> servers.Server:
        getattr(self.conductor, method)(uuid, *args)
        self.conductor.drain(120)
        return servers.get(self.db, uuid, read_deleted=True)

    def gone(self, uuid: str) -> bool:
        try:
            self.conn.lookupByUUIDString(uuid)
        except libvirt.libvirtError as exc:
            return bool(exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN)
        return False

    def close(self) -> None:
        self.agent.stop()
        self.conductor.stop()
        self.transport.close()
        self.conn.close()


@pytest.fixture(name="stack")
def stack_fixture(tmp_path: pathlib.Path, db: Database) -> Iterator[Stack]:
    built = Stack(tmp_path, db)
    yield built
    for server in servers.list_servers(db, read_deleted=True):
        built.driver.destroy(server.uuid)  # idempotent; only this test's guests
    built.close()


def boot_kernel_guest(stack: Stack) -> servers.Server:
    """Boot the x86_64 guest kernel (+ initrd) on the real host; returns the server."""
    if not KERNEL.is_file():
        unavailable(f"no guest kernel at {KERNEL} (scripts/guest-images.sh)")
    image_id = stack.image(KERNEL.read_bytes(), INITRD.read_bytes() if INITRD.is_file() else None)
    return stack.boot(image_id)


def test_real_guest_lifecycle(stack: Stack) -> None:
    server = boot_kernel_guest(stack)
    assert (server.vm_state, server.power_state, server.host) == ("active", 1, "local"), (
        server.fault
    )
    uuid = server.uuid
    try:
        domain = etree.fromstring(stack.conductor.get_domain_xml(uuid).encode())
        assert domain.get("type") == "qemu"
        assert domain.findtext("uuid") == uuid
        assert wait_for(
            lambda: "Linux version" in stack.conductor.get_console_output(uuid, None), 90
        ), "the guest printed nothing on its console"
        assert stack.run("stop_server", uuid).vm_state == "stopped"
        assert stack.run("start_server", uuid).vm_state == "active"
        # the guest dies behind virtfleet's back: libvirt's event makes it SHUTOFF
        stack.conn.lookupByUUIDString(uuid).destroy()
        assert wait_for(lambda: servers.get(stack.db, uuid).vm_state == "stopped", 30)
        assert servers.get(stack.db, uuid).power_state == 4
    finally:
        deleted = stack.run("delete_server", uuid)
    assert deleted.vm_state == "deleted"
    assert stack.gone(uuid)
    assert stack.placement.get_consumer_allocations(uuid).allocations == {}


def test_guest_qemu_cannot_start_is_error_with_libvirts_message(stack: Stack) -> None:
    image_id = stack.image(b"this is not a kernel" * 64, None)
    server = stack.boot(image_id)
    assert (server.vm_state, server.host) == ("error", None)
    assert server.fault is not None
    assert server.fault["message"].startswith("Build failed on host local:")
    assert stack.gone(server.uuid)
    assert stack.placement.get_consumer_allocations(server.uuid).allocations == {}
    assert "qemu: invalid kernel header" in server.fault["message"]
