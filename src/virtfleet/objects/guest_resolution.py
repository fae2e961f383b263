"""Flavor + image -> :class:`~virtfleet.objects.guest_request.GuestRequest`, once.

The only place that reads the guest facts out of extra specs and image properties:
architecture (``hw_emulation_architecture``, ``hw_architecture``), machine type
(``hw_machine_type``), firmware (``hw_firmware_type``), physical address bits
(``hw:maxphysaddr_*`` / ``hw_maxphysaddr_*``, which must agree), slices (custom
resource classes) and vGPUs (``VGPU``). Errors are
:class:`~virtfleet.errors.InvalidInput` naming the flavor, the image and the values.

Architecture names are canonicalised by the caller's ``canonicalize_arch``
(``virtfleet.virt.arch.canonicalize``), so that this module stays below the virt layer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from virtfleet import errors
from virtfleet.objects import extra_specs as extra_spec_table
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.image_properties import PROPERTIES_BY_NAME

VGPU = "VGPU"
#: The image properties that name the guest architecture (for messages downstream).
NATIVE_ARCH_PROPERTY = "hw_architecture"
EMULATION_ARCH_PROPERTY = "hw_emulation_architecture"
#: Glance's common property (Nova's legacy name of hw_architecture); the Image API
#: sets it when it infers the arch from an upload's data.
GLANCE_ARCH_PROPERTY = "architecture"
_RESOURCES = re.compile(r"resources[A-Za-z0-9_-]*:(?P<name>[^:]+)")


@dataclass(frozen=True)
class BootPair:
    """What resolution reads of a flavor and an image (names for the messages)."""

    flavor_name: str
    memory_mb: int
    extra_specs: Mapping[str, str] = field(default_factory=dict)
    image_id: str = ""
    image_properties: Mapping[str, object] = field(default_factory=dict)
    #: The native arch of an image that names none (``[scheduler]
    #: image_properties_default_architecture``; None: the host's own).
    default_arch: str | None = None

    def image_property(self, name: str) -> str | None:
        """An image property as a string, None when unset or empty."""
        value = self.image_properties.get(name)
        return None if value is None or str(value) == "" else str(value)


def resolve_guest_request(pair: BootPair, canonicalize_arch: Callable[[str], str]) -> GuestRequest:
    """The guest request of ``pair``; InvalidInput names what is wrong.

    The native arch is ``hw_architecture``; for an image that names neither it nor
    ``hw_emulation_architecture``, Glance's ``architecture`` (given, or inferred from
    the data at upload), else ``pair.default_arch``, else None (the host's own)."""
    mode, bits = _maxphysaddr(pair)
    native_arch = _arch(pair, NATIVE_ARCH_PROPERTY, canonicalize_arch)
    emulation_arch = _arch(pair, EMULATION_ARCH_PROPERTY, canonicalize_arch)
    if native_arch is None and emulation_arch is None:
        native_arch = _arch(pair, GLANCE_ARCH_PROPERTY, canonicalize_arch)
        if native_arch is None and pair.default_arch is not None:
            native_arch = canonicalize_arch(pair.default_arch)
    guest_arch = emulation_arch or native_arch
    extra_spec_table.check_maxphysaddr_arch(mode, guest_arch, _where(pair))
    slices, vgpus = _resources(pair.extra_specs)
    return GuestRequest(
        arch=guest_arch,
        emulated=emulation_arch is not None,
        native_arch=native_arch,
        machine_type=pair.image_property("hw_machine_type"),
        firmware=_known_value(pair, "hw_firmware_type"),
        maxphysaddr_mode=mode,
        maxphysaddr_bits=bits,
        slice_request=slices,
        vgpus=vgpus,
    )


CONFIG_DRIVE_PROPERTY = "img_config_drive"


def resolve_config_drive(
    guest: GuestRequest,
    pair: BootPair,
    requested: bool,
    forced: bool,
    has_cdrom_bus: Callable[[str], bool],
) -> GuestRequest:
    """``guest`` with its config drive decided: asked for (``requested``), forced
    (``[compute] force_config_drive``) or required by the image
    (``img_config_drive=mandatory``). A guest architecture without a CD-ROM bus
    (``has_cdrom_bus``) cannot have one: InvalidInput naming why it was wanted. An
    unset arch is the host's own, which has one."""
    mandatory = _known_value(pair, CONFIG_DRIVE_PROPERTY) == "mandatory"
    if not (requested or forced or mandatory):
        return guest
    if guest.arch is not None and not has_cdrom_bus(guest.arch):
        why = (
            "config_drive was asked for"
            if requested
            else "[compute] force_config_drive is set"
            if forced
            else f"image {pair.image_id} sets {CONFIG_DRIVE_PROPERTY}=mandatory"
        )
        raise errors.InvalidInput(
            f"A config drive is a CD-ROM, but guest architecture {guest.arch} "
            f"({_where(pair)}) has no CD-ROM bus; {why}."
        )
    return guest.with_config_drive(True)


def _where(pair: BootPair) -> str:
    return f"flavor {pair.flavor_name} with image {pair.image_id}"


def _arch(pair: BootPair, prop: str, canonicalize_arch: Callable[[str], str]) -> str | None:
    value = pair.image_property(prop)
    if value is None:
        return None
    try:
        return canonicalize_arch(value)
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(f"Invalid image property {prop}: {exc.message}") from None


def _known_value(pair: BootPair, prop: str) -> str | None:
    """An image property checked by the image property table's parser."""
    value = pair.image_property(prop)
    if value is not None:
        PROPERTIES_BY_NAME[prop].parse(prop, value)
    return value


def _maxphysaddr(pair: BootPair) -> tuple[str | None, int | None]:
    """Flavor and image agree on maxphysaddr, and together they are consistent and can
    address the flavor's RAM."""
    parsed = extra_spec_table.validate_extra_specs(pair.extra_specs)
    flavor_mode = parsed.get("hw:maxphysaddr_mode")
    flavor_bits = parsed.get("hw:maxphysaddr_bits")
    image_mode = _known_value(pair, "hw_maxphysaddr_mode")
    image_bits_text = _known_value(pair, "hw_maxphysaddr_bits")
    image_bits = int(image_bits_text) if image_bits_text else None
    pairs = (("mode", flavor_mode, image_mode), ("bits", flavor_bits, image_bits))
    for what, from_flavor, from_image in pairs:
        if from_flavor is not None and from_image is not None and from_flavor != from_image:
            raise errors.InvalidInput(
                f"Flavor {pair.flavor_name} sets hw:maxphysaddr_{what}={from_flavor} but image "
                f"{pair.image_id} sets hw_maxphysaddr_{what}={from_image}; they must agree."
            )
    mode = flavor_mode if flavor_mode is not None else image_mode
    bits = flavor_bits if flavor_bits is not None else image_bits
    checked_mode = mode if isinstance(mode, str) else None
    checked_bits = bits if isinstance(bits, int) else None
    extra_spec_table.check_maxphysaddr(checked_mode, checked_bits, pair.memory_mb, _where(pair))
    return checked_mode, checked_bits


def _resources(extra_specs: Mapping[str, str]) -> tuple[dict[str, int], int]:
    """Custom classes (slices) and VGPU units over every request group."""
    custom: dict[str, int] = {}
    vgpus = 0
    for key, value in extra_specs.items():
        match = _RESOURCES.fullmatch(key)
        if match is None:
            continue
        amount = int(extra_spec_table.parse_resource_amount(key, value))
        name = match["name"]
        if name == VGPU:
            vgpus += amount
        elif name.startswith("CUSTOM_") and amount:
            custom[name] = custom.get(name, 0) + amount
    return custom, vgpus


__all__ = [
    "EMULATION_ARCH_PROPERTY",
    "GLANCE_ARCH_PROPERTY",
    "NATIVE_ARCH_PROPERTY",
    "BootPair",
    "resolve_config_drive",
    "resolve_guest_request",
]
