"""Pure pieces of the boot workflow: a server's snapshots -> the scheduler's
RequestSpec, and server + chosen host + image files -> the agent's InstanceSpec. Both
carry the server's guest request as the Compute API resolved it."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping
from typing import Any, Protocol

from virtfleet import errors
from virtfleet.db.servers import Server
from virtfleet.objects.instance import InstanceSpec
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

#: Image disk formats the driver can put under a qcow2 overlay as they are.
DISK_FORMATS = {"qcow2": "qcow2", "raw": "raw", "ami": "raw", "aki": "raw", "ari": "raw"}


def image_properties(server: Server) -> dict[str, str]:
    """The image properties the server was booted with, as strings."""
    snapshot: Mapping[str, Any] = server.image or {}
    props = snapshot.get("properties", {}) or {}
    return {str(k): str(v) for k, v in props.items() if v is not None}


def flavor_spec(server: Server) -> FlavorSpec:
    """The scheduler's view of the server's flavor snapshot."""
    flavor = server.flavor
    return FlavorSpec(
        vcpus=int(flavor["vcpus"]),
        memory_mb=int(flavor["memory_mb"]),
        root_gb=int(flavor.get("root_gb", 0) or 0),
        ephemeral_gb=int(flavor.get("ephemeral_gb", 0) or 0),
        swap=int(flavor.get("swap", 0) or 0),
        extra_specs={str(k): str(v) for k, v in (flavor.get("extra_specs") or {}).items()},
    )


def request_spec(server: Server, ignore_hosts: frozenset[str] = frozenset()) -> RequestSpec:
    """What to ask the scheduler for ``server`` (hosts in ``ignore_hosts`` excluded)."""
    return RequestSpec(
        instance_uuid=server.uuid,
        project_id=server.project_id,
        user_id=server.user_id,
        flavor=flavor_spec(server),
        image_properties=image_properties(server),
        guest=server.guest_request,
        ignore_hosts=ignore_hosts,
    )


@dataclasses.dataclass(frozen=True)
class ImageFiles:
    """Where the agent finds the image's data (and kernel/ramdisk for direct boot)."""

    image_path: str | None = None
    image_format: str = "qcow2"
    kernel_path: str | None = None
    ramdisk_path: str | None = None
    cmdline: str | None = None


class ImageRecord(Protocol):
    id: str
    status: str
    disk_format: str | None


class Images(Protocol):
    """The part of the image service the conductor reads (records and their files)."""

    store: Any

    def get(self, image_id: str) -> Any: ...


def _data_path(images: Images, image_id: str, role: str) -> str:
    image: ImageRecord = images.get(image_id)
    if image.status != "active":
        raise errors.InvalidInput(f"{role} image {image_id} has no data (status {image.status})")
    path = pathlib.Path(images.store.path(image_id))
    if not path.is_file():
        raise errors.InvalidInput(f"{role} image {image_id}: data file {path} is missing")
    return str(path.resolve())


def image_files(images: Images, server: Server) -> ImageFiles:
    """The files of the server's image: its data (when it has any), the kernel and
    ramdisk images named by ``kernel_id``/``ramdisk_id``, and ``os_command_line``.

    InvalidInput when an image or file the boot needs is gone."""
    props = image_properties(server)
    image_id = server.image_ref
    try:
        image: ImageRecord = images.get(image_id)
    except errors.NotFound:
        raise errors.InvalidInput(f"image {image_id} of the server no longer exists") from None
    kernel_id = props.get("kernel_id")
    ramdisk_id = props.get("ramdisk_id")
    image_path = None
    if image.status == "active" or not kernel_id:
        image_path = _data_path(images, image_id, "boot")
    return ImageFiles(
        image_path=image_path,
        image_format=DISK_FORMATS.get(image.disk_format or "", "qcow2"),
        kernel_path=_data_path(images, kernel_id, "kernel") if kernel_id else None,
        ramdisk_path=_data_path(images, ramdisk_id, "ramdisk") if ramdisk_id else None,
        cmdline=props.get("os_command_line"),
    )


def instance_spec(
    server: Server, files: ImageFiles, allocations: Mapping[str, Mapping[str, int]]
) -> InstanceSpec:
    """The agent's spawn payload for ``server``."""
    flavor = flavor_spec(server)
    return InstanceSpec(
        uuid=server.uuid,
        name=server.name,
        flavor_name=str(server.flavor.get("name", "")),
        vcpus=flavor.vcpus,
        memory_mb=flavor.memory_mb,
        root_gb=flavor.root_gb,
        extra_specs=dict(flavor.extra_specs),
        image_id=server.image_ref or None,
        image_properties=image_properties(server),
        image_path=files.image_path,
        image_format=files.image_format,
        kernel_path=files.kernel_path,
        ramdisk_path=files.ramdisk_path,
        kernel_cmdline=files.cmdline,
        metadata={str(k): str(v) for k, v in server.metadata.items()},
        allocations={rp: dict(res) for rp, res in allocations.items()},
        guest_request=server.guest_request,
    )
