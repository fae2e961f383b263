"""Pure pieces of the boot workflow: a server's snapshots -> the scheduler's
RequestSpec, and server + chosen host + image data -> the agent's InstanceSpec. Both
carry the server's guest request as the Compute API resolved it."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from virtfleet import errors
from virtfleet.db.servers import Server
from virtfleet.objects.image_data import ImageData
from virtfleet.objects.instance import InstanceSpec
from virtfleet.scheduler.hints import SchedulerHints
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

#: Image disk formats the driver can put under a qcow2 overlay as they are.
DISK_FORMATS = {"qcow2": "qcow2", "raw": "raw", "ami": "raw", "aki": "raw", "ari": "raw"}


def image_properties(server: Server) -> dict[str, str]:
    """The image properties the server was booted with, as strings."""
    snapshot: Mapping[str, Any] = server.image or {}
    props = snapshot.get("properties", {}) or {}
    return {str(k): str(v) for k, v in props.items() if v is not None}


def shutdown_timeout(server: Server, default: int) -> int:
    """Seconds the guest gets to shut down cleanly: the image's ``os_shutdown_timeout``
    (validated when the image was made; a value that is not a number counts as unset),
    else ``default`` (``[compute] shutdown_timeout``)."""
    value = image_properties(server).get("os_shutdown_timeout")
    if value is not None and value.strip().isdigit():
        return int(value)
    return default


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
    """What to ask the scheduler for ``server`` (hosts in ``ignore_hosts`` excluded),
    with the boot's scheduler hints and availability zone, which every move keeps,
    and the host its zone forced (``zone:host``; a move names its own)."""
    zone, _, host = (server.availability_zone or "").partition(":")
    return RequestSpec(
        instance_uuid=server.uuid,
        project_id=server.project_id,
        user_id=server.user_id,
        flavor=flavor_spec(server),
        image_properties=image_properties(server),
        guest=server.guest_request,
        ignore_hosts=ignore_hosts,
        hints=SchedulerHints.from_primitive(server.scheduler_hints, member=server.uuid),
        availability_zone=zone or None,
        requested_host=host or None,
    )


@dataclasses.dataclass(frozen=True)
class ImageFiles:
    """Which image data the agent fetches (from the Image API) for the guest: its disk
    image, and the kernel and ramdisk images for direct boot."""

    image: ImageData | None = None
    kernel: ImageData | None = None
    ramdisk: ImageData | None = None
    cmdline: str | None = None

    @property
    def image_format(self) -> str:
        return self.image.disk_format if self.image is not None else "qcow2"


class ImageRecord(Protocol):
    id: str
    status: str
    disk_format: str | None
    size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None


class Images(Protocol):
    """The part of the image service the conductor reads (records, whether the data
    is stored)."""

    def get(self, image_id: str) -> Any: ...
    def release(self, image_ids: Iterable[str]) -> tuple[str, ...]: ...
    def upload(
        self, image_id: str, chunks: Iterable[bytes], declared_size: int | None = None
    ) -> Any: ...
    def delete(self, image_id: str) -> None: ...
    def staging_path(self, image_id: str) -> str: ...

    def has_data(self, image_id: str) -> bool: ...


def image_data(images: Images, image_id: str, role: str) -> ImageData:
    """The data of image ``image_id`` as an agent fetches it; InvalidInput naming the
    image (as the ``role`` image) when it is gone or has no data."""
    return _data(images, image_id, role)


def _data(images: Images, image_id: str, role: str) -> ImageData:
    try:
        image: ImageRecord = images.get(image_id)
    except errors.NotFound:
        raise errors.InvalidInput(f"{role} image {image_id} no longer exists") from None
    if image.status != "active":
        raise errors.InvalidInput(f"{role} image {image_id} has no data (status {image.status})")
    if not images.has_data(image_id):  # before any claim: no host could fetch it
        raise errors.InvalidInput(f"{role} image {image_id}: its data file is missing")
    return ImageData(
        image_id=image.id,
        size=int(image.size or 0),
        checksum=image.checksum,
        os_hash_algo=image.os_hash_algo,
        os_hash_value=image.os_hash_value,
        disk_format=DISK_FORMATS.get(image.disk_format or "", "qcow2"),
    )


def image_files(images: Images, server: Server) -> ImageFiles:
    """The image data of the server's boot: its image's (when it has any), the kernel
    and ramdisk images named by ``kernel_id``/``ramdisk_id``, and ``os_command_line``.

    InvalidInput when an image the boot needs is gone or has no data."""
    props = image_properties(server)
    image_id = server.image_ref
    try:
        image: ImageRecord = images.get(image_id)
    except errors.NotFound:
        raise errors.InvalidInput(f"image {image_id} of the server no longer exists") from None
    kernel_id = props.get("kernel_id")
    ramdisk_id = props.get("ramdisk_id")
    data = None
    if image.status == "active" or not kernel_id:
        data = _data(images, image_id, "boot")
    return ImageFiles(
        image=data,
        kernel=_data(images, kernel_id, "kernel") if kernel_id else None,
        ramdisk=_data(images, ramdisk_id, "ramdisk") if ramdisk_id else None,
        cmdline=props.get("os_command_line"),
    )


def instance_spec(
    server: Server,
    files: ImageFiles,
    allocations: Mapping[str, Mapping[str, int]],
    config_drive: Mapping[str, bytes] | None = None,
) -> InstanceSpec:
    """The agent's spawn payload for ``server`` (with the files of its config drive,
    when it has one)."""
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
        image_format=files.image_format,
        image_data=files.image,
        kernel_data=files.kernel,
        ramdisk_data=files.ramdisk,
        kernel_cmdline=files.cmdline,
        metadata={str(k): str(v) for k, v in server.metadata.items()},
        allocations={rp: dict(res) for rp, res in allocations.items()},
        guest_request=server.guest_request,
        config_drive={
            path: base64.b64encode(content).decode()
            for path, content in (config_drive or {}).items()
        },
    )
