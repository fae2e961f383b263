"""Image properties virtfleet understands: one table of name, kind, parser and
description, read by the Image API (validation when set) and by the scheduler and the
driver (image properties → traits and guest devices).

Unknown properties are kept as given. Checks that need outside knowledge are passed in
by the caller, so that this table stays below the virt layer: ``canonicalize_arch``
(``virtfleet.virt.arch.canonicalize``) for architecture names, ``check_machine_type``
(``virtfleet.virt.arch.check_machine_type``) for machine types of the image's guest
architecture, and ``image_exists`` for properties that name another image.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from virtfleet import errors
from virtfleet.objects import extra_specs

FIRMWARE_TYPES = ("bios", "uefi")
MAX_SHUTDOWN_TIMEOUT = 86400
YES = ("yes", "true", "1", "on")
NO = ("no", "false", "0", "off")
DISK_BUSES = ("virtio", "scsi", "ide", "sata", "usb", "fdc", "xen", "lxc", "uml")
CONFIG_DRIVE_POLICIES = ("optional", "mandatory")
CDROM_BUSES = ("scsi", "ide", "sata", "usb", "virtio")
RESCUE_DEVICES = ("disk", "cdrom", "floppy")
RESCUE_BUSES = ("virtio", "ide", "scsi", "usb", "sata", "fdc")
VIDEO_MODELS = ("vga", "cirrus", "vmvga", "xen", "qxl", "virtio", "gop", "none", "bochs", "ramfb")
VIF_MODELS = (
    "virtio",
    "e1000",
    "e1000e",
    "rtl8139",
    "ne2k_pci",
    "pcnet",
    "igb",
    "spapr-vlan",
    "lan9118",
    "smc91c111",
)


class Kind(enum.Enum):
    """What a property's value is checked against."""

    VALUE = "value"  # checked by the parser alone
    ARCH = "arch"  # an architecture name, canonicalised by the caller's function
    IMAGE_ID = "image_id"  # the id of another image that must exist
    MACHINE = "machine"  # a machine type of the guest arch, checked by the caller's function


def _choice(choices: tuple[str, ...]) -> Callable[[str, str], object]:
    def parse(name: str, value: str) -> str:
        if value not in choices:
            raise errors.InvalidInput(
                f"Invalid image property {name}={value!r}: expected one of {', '.join(choices)}."
            )
        return value

    return parse


def _string(name: str, value: str) -> str:
    if not value.strip():
        raise errors.InvalidInput(f"Invalid image property {name}={value!r}: must not be empty.")
    return value


def _seconds(name: str, value: str) -> int:
    try:
        return extra_specs.to_int(name, value, 0, MAX_SHUTDOWN_TIMEOUT)
    except errors.InvalidInput:
        raise errors.InvalidInput(
            f"Invalid image property {name}={value!r}: expected a number of seconds from 0 "
            f"to {MAX_SHUTDOWN_TIMEOUT}."
        ) from None


def _yes_no(name: str, value: str) -> bool:
    if value.lower() not in YES + NO:
        raise errors.InvalidInput(
            f"Invalid image property {name}={value!r}: expected yes or no (true or false)."
        )
    return value.lower() in YES


def _bits(name: str, value: str) -> int:
    low, high = extra_specs.MAXPHYSADDR_BITS_RANGE
    try:
        return extra_specs.to_int(name, value, low, high)
    except errors.InvalidInput:
        raise errors.InvalidInput(
            f"Invalid image property {name}={value!r}: expected an integer from {low} to {high}."
        ) from None


@dataclass(frozen=True)
class ImageProperty:
    """One known property: its name, kind, value parser and meaning."""

    name: str
    kind: Kind
    parse: Callable[[str, str], object]
    description: str


IMAGE_PROPERTIES: tuple[ImageProperty, ...] = (
    ImageProperty(
        "hw_architecture", Kind.ARCH, _string, "CPU architecture the image's OS runs on."
    ),
    ImageProperty(
        "architecture",
        Kind.ARCH,
        _string,
        "Glance's common name for hw_architecture (which wins when both are set); set by "
        "the Image API when it infers the arch from the uploaded data.",
    ),
    ImageProperty(
        "hw_emulation_architecture",
        Kind.ARCH,
        _string,
        "Guest architecture to emulate with QEMU TCG when hosts cannot run it natively.",
    ),
    ImageProperty(
        "hw_machine_type",
        Kind.MACHINE,
        _string,
        "Machine type of the guest architecture, e.g. q35, pc-i440fx-7.2 or virt.",
    ),
    ImageProperty(
        "hw_firmware_type", Kind.VALUE, _choice(FIRMWARE_TYPES), "Guest firmware: bios or uefi."
    ),
    ImageProperty("hw_disk_bus", Kind.VALUE, _choice(DISK_BUSES), "Bus of the root disk."),
    ImageProperty("hw_cdrom_bus", Kind.VALUE, _choice(CDROM_BUSES), "Bus of CD-ROM drives."),
    ImageProperty(
        "hw_rescue_device",
        Kind.VALUE,
        _choice(RESCUE_DEVICES),
        "Stable device rescue (Nova 2.87): a rescue from this image attaches it as one "
        "more device of this kind (disk, cdrom or floppy), booted first, while the "
        "server's own disks keep their places.",
    ),
    ImageProperty(
        "hw_rescue_bus",
        Kind.VALUE,
        _choice(RESCUE_BUSES),
        "Stable device rescue: the bus of the rescue device (default: the guest "
        "architecture's bus for that kind of device; fdc for a floppy).",
    ),
    ImageProperty(
        "img_config_drive",
        Kind.VALUE,
        _choice(CONFIG_DRIVE_POLICIES),
        "Whether servers of the image must have a config drive: optional or mandatory.",
    ),
    ImageProperty("hw_video_model", Kind.VALUE, _choice(VIDEO_MODELS), "Guest video device."),
    ImageProperty("hw_vif_model", Kind.VALUE, _choice(VIF_MODELS), "Guest network card model."),
    ImageProperty(
        "hw_maxphysaddr_mode",
        Kind.VALUE,
        _choice(extra_specs.MAXPHYSADDR_MODES),
        "Guest physical address bits: emulate (with hw_maxphysaddr_bits) or passthrough.",
    ),
    ImageProperty(
        "hw_maxphysaddr_bits", Kind.VALUE, _bits, "Guest physical address bits (32..52)."
    ),
    ImageProperty("kernel_id", Kind.IMAGE_ID, _string, "Image holding the kernel to boot."),
    ImageProperty("ramdisk_id", Kind.IMAGE_ID, _string, "Image holding the initial ramdisk."),
    ImageProperty("os_command_line", Kind.VALUE, _string, "Kernel command line (with kernel_id)."),
    ImageProperty(
        "os_shutdown_timeout",
        Kind.VALUE,
        _seconds,
        "Seconds the guest gets to shut down cleanly before it is forced off "
        "(overrides [compute] shutdown_timeout).",
    ),
    ImageProperty(
        "hw_qemu_guest_agent",
        Kind.VALUE,
        _yes_no,
        "yes: the guest runs the QEMU guest agent (its channel is added; password set).",
    ),
)

PROPERTIES_BY_NAME: Mapping[str, ImageProperty] = {p.name: p for p in IMAGE_PROPERTIES}


def validate_image_properties(
    properties: Mapping[str, object],
    canonicalize_arch: Callable[[str], str],
    image_exists: Callable[[str], bool],
    check_machine_type: Callable[[str, str | None], None] | None = None,
) -> dict[str, object]:
    """Validate an image's complete properties and return them with architecture names
    canonicalised (other values as given; unknown properties pass through).
    ``check_machine_type(machine, guest_arch or None)`` raises for a machine type the
    guest architecture does not have (None: no such check).
    Raises InvalidInput naming the property, value and what is allowed."""
    result: dict[str, object] = dict(properties)
    parsed_values: dict[str, object] = {}
    for name, value in properties.items():
        prop = PROPERTIES_BY_NAME.get(name)
        if prop is None:
            continue
        if not isinstance(value, str):
            raise errors.InvalidInput(
                f"Invalid image property {name}={value!r}: expected a string."
            )
        parsed_values[name] = prop.parse(name, value)
        if prop.kind is Kind.ARCH:
            result[name] = _canonical(name, value, canonicalize_arch)
        elif prop.kind is Kind.IMAGE_ID and not image_exists(value):
            raise errors.InvalidInput(
                f"Invalid image property {name}={value!r}: no image with that id exists."
            )
    mode = parsed_values.get("hw_maxphysaddr_mode")
    bits = parsed_values.get("hw_maxphysaddr_bits")
    where = "image properties hw_maxphysaddr_mode/hw_maxphysaddr_bits"
    mode = mode if isinstance(mode, str) else None
    extra_specs.check_maxphysaddr(mode, bits if isinstance(bits, int) else None, None, where)
    guest_arch = result.get("hw_emulation_architecture") or result.get("hw_architecture")
    guest_arch = str(guest_arch) if guest_arch else None
    extra_specs.check_maxphysaddr_arch(mode, guest_arch, where)
    machine = parsed_values.get("hw_machine_type")
    if check_machine_type is not None and isinstance(machine, str):
        _check_machine(machine, guest_arch, check_machine_type)
    return result


def _check_machine(
    machine: str, guest_arch: str | None, check: Callable[[str, str | None], None]
) -> None:
    try:
        check(machine, guest_arch)
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(
            f"Invalid image property hw_machine_type={machine!r}: {exc.message}"
        ) from None


def _canonical(name: str, value: str, canonicalize_arch: Callable[[str], str]) -> str:
    try:
        return canonicalize_arch(value)
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(f"Invalid image property {name}: {exc.message}") from None


__all__ = [
    "IMAGE_PROPERTIES",
    "PROPERTIES_BY_NAME",
    "ImageProperty",
    "Kind",
    "validate_image_properties",
]
