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
from virtfleet.objects.extra_specs import (
    check_maxphysaddr,
    check_maxphysaddr_arch,
    validate_extra_specs,
)
from virtfleet.scheduler.resource_request import (
    FlavorSpec,
    RequestSpec,
    flavor_constraints,
    request_constraints,
)

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


def _maxphysaddr(flavor: Flavor, image: Image) -> tuple[str | None, int | None]:
    parsed = validate_extra_specs(flavor.extra_specs)
    flavor_mode = parsed.get("hw:maxphysaddr_mode")
    flavor_bits = parsed.get("hw:maxphysaddr_bits")
    image_mode = image.properties.get("hw_maxphysaddr_mode")
    image_bits_text = image.properties.get("hw_maxphysaddr_bits")
    image_bits = int(image_bits_text) if image_bits_text else None
    pairs = (("mode", flavor_mode, image_mode), ("bits", flavor_bits, image_bits))
    for what, from_flavor, from_image in pairs:
        if from_flavor is not None and from_image is not None and from_flavor != from_image:
            raise errors.InvalidInput(
                f"Flavor {flavor.name} sets hw:maxphysaddr_{what}={from_flavor} but image "
                f"{image.id} sets hw_maxphysaddr_{what}={from_image}; they must agree."
            )
    mode = flavor_mode if flavor_mode is not None else image_mode
    bits = flavor_bits if flavor_bits is not None else image_bits
    return (
        mode if isinstance(mode, str) else None,
        bits if isinstance(bits, int) else None,
    )


def check_maxphysaddr_combined(flavor: Flavor, image: Image) -> None:
    """Flavor and image agree on maxphysaddr, and together they are consistent and
    can address the flavor's RAM; only x86 guests take maxphysaddr."""
    mode, bits = _maxphysaddr(flavor, image)
    where = f"flavor {flavor.name} with image {image.id}"
    check_maxphysaddr(mode, bits, flavor.memory_mb, where)
    guest_arch = image.properties.get("hw_emulation_architecture") or image.properties.get(
        "hw_architecture"
    )
    check_maxphysaddr_arch(mode, str(guest_arch) if guest_arch else None, where)


CHECKS: tuple[Callable[[Flavor, Image], None], ...] = (
    check_image_bootable,
    check_image_size,
    check_maxphysaddr_combined,
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


def check_request(flavor: Flavor, image: Image, conf: cfg.ConfigOpts | None) -> None:
    """The scheduler's own request builder accepts the pair: request groups with
    resources, known same_subtree suffixes and, with ``conf``, every enabled
    prefilter (image properties that no host trait can match are refused)."""
    flavor_spec = scheduler_flavor(flavor)
    if conf is None:
        flavor_constraints(flavor_spec)
        return
    spec = RequestSpec(
        instance_uuid="",
        project_id="",
        user_id="",
        flavor=flavor_spec,
        image_properties=dict(image.properties),
    )
    request_constraints(spec, conf)


def check_boot(flavor: Flavor, image: Image, conf: cfg.ConfigOpts | None = None) -> None:
    """Run every check of :data:`CHECKS`, then :func:`check_request`."""
    for check in CHECKS:
        check(flavor, image)
    check_request(flavor, image, conf)


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
