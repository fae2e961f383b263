"""Which device and bus a stable device rescue uses for a guest (pure rules).

Nova's stable device rescue (2.87) reads two properties of the rescue image:
``hw_rescue_device`` (disk, cdrom or floppy; default disk) and ``hw_rescue_bus``
(default: the guest architecture's bus for that device). Which buses a guest offers
depends on its architecture (the table of :mod:`virtfleet.virt.arch`) and, on x86,
its machine type: the i440fx machines (``pc``, ``pc-i440fx-*``, ``isapc``) have IDE
and a floppy controller (``fdc``), q35 has neither (SATA instead). An image without
either property gets no stable rescue (None: the older layout, rescue disk first).
"""

from __future__ import annotations

from collections.abc import Mapping

from virtfleet import errors
from virtfleet.objects.image_properties import CDROM_BUSES
from virtfleet.objects.rescue_device import RescueDevice
from virtfleet.virt import arch

DEVICE_PROPERTY = "hw_rescue_device"
BUS_PROPERTY = "hw_rescue_bus"
_X86 = ("x86_64", "i686")


def wanted(properties: Mapping[str, object]) -> bool:
    """Whether the image asks for a stable device rescue."""
    return any(properties.get(name) not in (None, "") for name in (DEVICE_PROPERTY, BUS_PROPERTY))


def _has_i440fx_devices(arch_name: str, machine: str) -> bool:
    """x86 machines other than q35 (and microvm) have IDE and a floppy controller."""
    return arch_name in _X86 and "q35" not in machine and machine != "microvm"


def _buses(device: str, row: arch.ArchInfo, machine: str) -> tuple[str, ...]:
    """The buses a ``device`` may sit on in a guest of ``row`` with ``machine``,
    the default first."""
    legacy = _has_i440fx_devices(row.name, machine)
    if device == "floppy":
        return ("fdc",) if legacy else ()
    disk = tuple(b for b in row.disk_buses if b != "ide" or legacy or row.name not in _X86)
    if device == "disk":
        return disk
    if row.cdrom_bus is None:
        return ()
    default = "ide" if legacy else row.cdrom_bus
    return (default, *(b for b in disk if b in CDROM_BUSES and b != default))


def resolve(
    properties: Mapping[str, object], guest_arch: str, machine: str | None
) -> RescueDevice | None:
    """The rescue device of an image with ``properties`` for a ``guest_arch`` guest
    of ``machine`` (None: the arch's default machine); None without a stable rescue.
    InvalidInput names the property, its value and what this guest allows."""
    if not wanted(properties):
        return None
    row = arch.get(guest_arch)
    machine = machine or row.machine
    device = str(properties.get(DEVICE_PROPERTY) or "disk")
    buses = _buses(device, row, machine)
    guest = f"guest architecture {row.name} (machine {machine})"
    if not buses:
        usable = [d for d in ("disk", "cdrom", "floppy") if _buses(d, row, machine)]
        what = "floppy controller" if device == "floppy" else "CD-ROM bus"
        raise errors.InvalidInput(
            f"Invalid image property {DEVICE_PROPERTY}={device!r}: {guest} has no {what}; "
            f"valid: {', '.join(usable)}."
        )
    bus = str(properties.get(BUS_PROPERTY) or buses[0])
    if bus not in buses:
        raise errors.InvalidInput(
            f"Invalid image property {BUS_PROPERTY}={bus!r} for a rescue {device} on "
            f"{guest}: valid: {', '.join(buses)}."
        )
    return RescueDevice(device=device, bus=bus)
