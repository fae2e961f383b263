"""Checks of a flavor and an image together, run before a server is accepted.

Each check is a pure function raising :class:`~virtfleet.errors.InvalidInput` with a
message naming the flavor, the image and the conflicting values; :data:`CHECKS` is the
table the API runs in order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from oslo_config import cfg

from virtfleet import errors
from virtfleet.db.flavors import Flavor
from virtfleet.db.images import Image
from virtfleet.db.servers import Server
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.guest_resolution import (
    BootPair,
    resolve_config_drive,
    resolve_guest_request,
)
from virtfleet.scheduler.prefilters import request_constraints
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec, flavor_constraints
from virtfleet.virt import arch as virt_arch

GIB = 1 << 30


def check_image_bootable(flavor: Flavor, image: Image) -> None:
    """An image needs data (status active), or a kernel_id for a direct kernel boot."""
    if image.status == "active" or image.properties.get("kernel_id"):
        return
    raise errors.InvalidInput(
        f"Image {image.id} has no data (status {image.status}) and no kernel_id property: "
        "there is nothing to boot."
    )


def check_image_size(flavor: Flavor, image: Image) -> None:
    """Flavor RAM >= image min_ram; flavor disk >= image min_disk and image size."""
    if flavor.memory_mb < image.min_ram:
        raise errors.InvalidInput(
            f"Flavor {flavor.name} has {flavor.memory_mb} MiB of RAM; image {image.id} needs "
            f"at least {image.min_ram} MiB (min_ram)."
        )
    if flavor.root_gb and flavor.root_gb < image.min_disk:
        raise errors.InvalidInput(
            f"Flavor {flavor.name} has a {flavor.root_gb} GiB disk; image {image.id} needs "
            f"at least {image.min_disk} GiB (min_disk)."
        )
    if flavor.root_gb and image.size and image.size > flavor.root_gb * GIB:
        raise errors.InvalidInput(
            f"Flavor {flavor.name}'s disk ({flavor.root_gb} GiB) is too small for image "
            f"{image.id} ({image.size} bytes)."
        )


CHECKS: tuple[Callable[[Flavor, Image], None], ...] = (
    check_image_bootable,
    check_image_size,
)


def scheduler_flavor(flavor: Flavor) -> FlavorSpec:
    """The scheduler's view of ``flavor``."""
    return FlavorSpec(
        vcpus=flavor.vcpus,
        memory_mb=flavor.memory_mb,
        root_gb=flavor.root_gb,
        ephemeral_gb=flavor.ephemeral_gb,
        swap=flavor.swap,
        extra_specs=dict(flavor.extra_specs),
    )


def check_request(
    flavor: Flavor, image: Image, guest: GuestRequest, conf: cfg.ConfigOpts | None
) -> None:
    """The scheduler's own request builder accepts the pair: request groups with
    resources, known same_subtree suffixes and, with ``conf``, every enabled
    prefilter (architectures and image properties that no host trait can match are
    refused)."""
    check_flavor_request(flavor, dict(image.properties), guest, conf)


def check_flavor_request(
    flavor: Flavor,
    image_properties: Mapping[str, object],
    guest: GuestRequest,
    conf: cfg.ConfigOpts | None,
) -> None:
    """:func:`check_request` over the image's properties (a resize: the server's
    image as it was at boot)."""
    flavor_spec = scheduler_flavor(flavor)
    if conf is None:
        flavor_constraints(flavor_spec)
        return
    spec = RequestSpec(
        instance_uuid="",
        project_id="",
        user_id="",
        flavor=flavor_spec,
        image_properties=dict(image_properties),
        guest=guest,
    )
    request_constraints(spec, conf)


def _pair(flavor: Flavor, image: Image, conf: cfg.ConfigOpts | None = None) -> BootPair:
    return BootPair(
        flavor_name=flavor.name,
        memory_mb=flavor.memory_mb,
        extra_specs=dict(flavor.extra_specs),
        image_id=image.id,
        image_properties=dict(image.properties),
        default_arch=None if conf is None else conf.scheduler.image_properties_default_architecture,
    )


def guest_request(flavor: Flavor, image: Image, conf: cfg.ConfigOpts | None = None) -> GuestRequest:
    """The pair's guest request, resolved once here and stored with the server."""
    return resolve_guest_request(_pair(flavor, image, conf), virt_arch.canonicalize)


def has_cdrom_bus(arch_name: str) -> bool:
    """Whether guests of ``arch_name`` can have a CD-ROM (and so a config drive)."""
    return virt_arch.get(arch_name).cdrom_bus is not None


def check_boot(
    flavor: Flavor,
    image: Image,
    conf: cfg.ConfigOpts | None = None,
    config_drive: bool = False,
) -> GuestRequest:
    """Run every check of :data:`CHECKS`, resolve the guest request (with its config
    drive: ``config_drive`` asked for, or forced), then :func:`check_request`; the
    guest request the boot carries."""
    for check in CHECKS:
        check(flavor, image)
    guest = guest_request(flavor, image, conf)
    forced = bool(conf is not None and conf.compute.force_config_drive)
    guest = resolve_config_drive(
        guest, _pair(flavor, image, conf), config_drive, forced, has_cdrom_bus
    )
    check_request(flavor, image, guest, conf)
    return guest


def server_flavor(server: Server) -> Flavor:
    """The server's flavor as it was when it booted (or last resized)."""
    kept = server.flavor
    return Flavor(
        id=str(kept["id"]),
        name=str(kept["name"]),
        vcpus=int(kept["vcpus"]),
        memory_mb=int(kept["memory_mb"]),
        root_gb=int(kept.get("root_gb") or 0),
        ephemeral_gb=int(kept.get("ephemeral_gb") or 0),
        swap=int(kept.get("swap") or 0),
        description=kept.get("description"),
        extra_specs=dict(kept.get("extra_specs") or {}),
    )


def image_snapshot(image: Image) -> Mapping[str, object]:
    """What a server keeps of its image: identity, formats, sizes and properties."""
    return {
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "size": image.size,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "checksum": image.checksum,
        "properties": dict(image.properties),
    }
