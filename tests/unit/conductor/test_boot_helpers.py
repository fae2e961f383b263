"""Pure boot helpers: server snapshots -> RequestSpec, image files, InstanceSpec."""

from __future__ import annotations

import dataclasses
import datetime
import types
from typing import Any, cast

import pytest

from virtfleet import errors
from virtfleet.conductor import boot
from virtfleet.conductor.moves import destination
from virtfleet.db import migration_records as records
from virtfleet.db.servers import Server
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.image_data import ImageData

NOW = datetime.datetime(2026, 1, 1)


def server(**changes: Any) -> Server:
    base = Server(
        uuid="0f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44",
        name="web-1",
        project_id="p",
        user_id="u",
        flavor={
            "name": "m1",
            "vcpus": 2,
            "memory_mb": 2048,
            "root_gb": 10,
            "ephemeral_gb": 5,
            "swap": 1536,
            "extra_specs": {"hw:maxphysaddr_bits": 42},
        },
        image_ref="img",
        image={"id": "img", "properties": {"hw_architecture": "x86_64", "hw_x": None}},
        guest_request=GuestRequest(arch="x86_64", native_arch="x86_64"),
        vm_state="building",
        task_state="scheduling",
        power_state=0,
        host=None,
        node=None,
        fault=None,
        metadata={"role": "<web>"},
        created_at=NOW,
        updated_at=NOW,
    )
    return dataclasses.replace(base, **changes)


@dataclasses.dataclass
class Image:
    id: str
    status: str = "active"
    disk_format: str | None = "qcow2"
    size: int | None = 3
    checksum: str | None = "md5-of-x"
    os_hash_algo: str | None = "sha512"
    os_hash_value: str | None = "sha512-of-x"


class Images:
    def __init__(self, *images: Image) -> None:
        self.records = {i.id: i for i in images}
        self.lost: set[str] = set()

    def get(self, image_id: str) -> Image:
        if image_id not in self.records:
            raise errors.NotFound(f"image {image_id} not found")
        return self.records[image_id]

    def has_data(self, image_id: str) -> bool:
        return image_id not in self.lost


def test_an_image_whose_data_file_is_gone_is_invalid_input_before_any_claim() -> None:
    images = Images(Image("img"))
    images.lost.add("img")
    with pytest.raises(errors.InvalidInput, match="boot image img: its data file is missing"):
        boot.image_files(images, server())


def data(image_id: str, disk_format: str = "raw") -> ImageData:
    return ImageData(
        image_id=image_id,
        size=3,
        checksum="md5-of-x",
        os_hash_algo="sha512",
        os_hash_value="sha512-of-x",
        disk_format=disk_format,
    )


def test_request_spec_from_snapshots() -> None:
    spec = boot.request_spec(server(), frozenset({"bad-host"}))
    assert (spec.instance_uuid, spec.project_id, spec.user_id) == (server().uuid, "p", "u")
    assert (spec.flavor.vcpus, spec.flavor.memory_mb, spec.flavor.disk_gb) == (2, 2048, 17)
    assert spec.flavor.extra_specs == {"hw:maxphysaddr_bits": "42"}
    assert spec.image_properties == {"hw_architecture": "x86_64"}  # None values dropped
    assert spec.ignore_hosts == frozenset({"bad-host"})
    assert spec.guest == server().guest_request  # as stored, not re-derived


def test_the_stored_guest_request_wins_over_the_raw_snapshots() -> None:
    """Downstream reads the request the API resolved, even where the snapshots would
    say otherwise (they are kept for the device properties and slice templates)."""
    stored = GuestRequest(arch="s390x", emulated=True)
    pinned = server(guest_request=stored)
    assert boot.request_spec(pinned).guest == stored
    files = boot.ImageFiles(image=data("img"))
    assert boot.instance_spec(pinned, files, {}).guest_request == stored


def test_a_live_migration_asks_for_the_guest_the_server_was_booted_with() -> None:
    stored = GuestRequest(arch="aarch64", emulated=True, machine_type="virt")
    migration = cast(records.Migration, types.SimpleNamespace(uuid="mig-1"))
    spec = destination.held_by_migration(
        server(host="src", guest_request=stored), migration, None, frozenset({"bad"})
    )
    assert spec.guest == stored
    assert (spec.instance_uuid, spec.ignore_hosts) == ("mig-1", frozenset({"src", "bad"}))


def test_image_files_name_the_data_and_its_digests_never_a_server_path() -> None:
    files = boot.image_files(Images(Image("img", disk_format="raw")), server())
    assert files == boot.ImageFiles(image=data("img"))
    assert files.image_format == "raw"


def test_image_files_for_direct_kernel_boot() -> None:
    images = Images(
        Image("img", status="queued", disk_format="ami"),
        Image("k", disk_format="aki"),
        Image("r", disk_format="ari"),
    )
    props = {"kernel_id": "k", "ramdisk_id": "r", "os_command_line": "console=ttyS0"}
    files = boot.image_files(images, server(image={"properties": props}))
    assert files.image is None
    assert (files.kernel, files.ramdisk) == (data("k"), data("r"))
    assert files.cmdline == "console=ttyS0"


@pytest.mark.parametrize(
    ("records", "props", "message"),
    [
        ((), {}, "image img of the server no longer exists"),
        ((Image("img", status="queued"),), {}, "boot image img has no data"),
        ((Image("img"), Image("k", status="queued")), {"kernel_id": "k"}, "kernel image k has"),
        ((Image("img"),), {"kernel_id": "gone"}, "kernel image gone no longer exists"),
    ],
)
def test_missing_image_data_is_invalid_input(
    records: tuple[Image, ...], props: dict[str, str], message: str
) -> None:
    with pytest.raises(errors.InvalidInput, match=message):
        boot.image_files(Images(*records), server(image={"properties": props}))


def test_instance_spec_carries_everything_the_agent_needs() -> None:
    files = boot.ImageFiles(image=data("img"), cmdline="quiet")
    spec = boot.instance_spec(server(), files, {"rp": {"VCPU": 2}})
    assert (spec.uuid, spec.name, spec.flavor_name) == (server().uuid, "web-1", "m1")
    assert (spec.vcpus, spec.memory_mb, spec.root_gb) == (2, 2048, 10)
    assert spec.extra_specs == {"hw:maxphysaddr_bits": "42"}
    assert spec.image_properties == {"hw_architecture": "x86_64"}
    assert (spec.image_id, spec.image_data, spec.image_format) == ("img", data("img"), "raw")
    assert (spec.kernel_data, spec.kernel_cmdline) == (None, "quiet")
    assert (spec.image_path, spec.kernel_path) == (None, None)  # no server-local paths
    assert spec.metadata == {"role": "<web>"}
    assert spec.allocations == {"rp": {"VCPU": 2}}
    assert spec.guest_request == server().guest_request
