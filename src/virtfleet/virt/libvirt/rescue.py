"""Rescue mode's domain XML, made from the guest's own definition (no decisions here).

A rescued guest is the same domain (same UUID, name, devices, NICs, consoles) whose
first disk is the rescue disk (an overlay over the rescue image, booted first) and
whose own root disk follows it as the second disk, so the rescue system can mount
and repair it. The guest's definition before the rescue is kept as the file
:data:`UNRESCUE_XML` in its instance directory and defined again, unchanged, by
unrescue; the rescue disk is :data:`RESCUE_DISK` beside it.
"""

from __future__ import annotations

import string

from lxml import etree

from virtfleet import errors

RESCUE_DISK = "disk.rescue"
UNRESCUE_XML = "unrescue.xml"
_LETTERS = string.ascii_lowercase


def _next_dev(dev: str, prefix: str) -> str:
    """``vda`` -> ``vdb``: the device name one letter on (same prefix)."""
    letter = dev[len(prefix) :]
    if len(letter) != 1 or letter not in _LETTERS[:-1]:
        raise errors.InvalidInput(f"cannot move disk {dev} aside for the rescue disk")
    return prefix + _LETTERS[_LETTERS.index(letter) + 1]


def rescue_xml(original: str, rescue_disk: str, bus: str, prefix: str) -> str:
    """``original`` (a domain definition) with ``rescue_disk`` (qcow2) as its first
    disk on ``bus`` (device ``<prefix>a``), booted first; the disks on the same
    prefix (the root disk, a config drive sharing its bus) move one letter on. Disk
    addresses are dropped so libvirt places them again in this order."""
    root = etree.fromstring(original.encode())
    devices = root.find("devices")
    if devices is None:
        raise errors.InvalidInput("the domain has no devices")
    disks = devices.findall("disk")
    for disk in disks:
        target = disk.find("target")
        dev = target.get("dev", "") if target is not None else ""
        if target is not None and dev.startswith(prefix):
            target.set("dev", _next_dev(dev, prefix))
        for address in disk.findall("address"):
            disk.remove(address)
        for boot in disk.findall("boot"):
            disk.remove(boot)
    rescue = etree.Element("disk", type="file", device="disk")
    etree.SubElement(rescue, "driver", name="qemu", type="qcow2")
    etree.SubElement(rescue, "source", file=rescue_disk)
    etree.SubElement(rescue, "target", dev=f"{prefix}a", bus=bus)
    os_element = root.find("os")
    if os_element is not None and os_element.find("kernel") is None:
        for boot in os_element.findall("boot"):  # per-device order instead: rescue first
            os_element.remove(boot)
        etree.SubElement(rescue, "boot", order="1")
    if disks:
        disks[0].addprevious(rescue)
    else:
        emulator = devices.find("emulator")
        devices.insert(0 if emulator is None else devices.index(emulator) + 1, rescue)
    return etree.tostring(root, encoding="unicode")


def disk_sources(xml: str) -> list[tuple[str, str]]:
    """(target device, source file) of each file disk, in the domain's order."""
    root = etree.fromstring(xml.encode())
    found = []
    for disk in root.iterfind("devices/disk"):
        target, source = disk.find("target"), disk.find("source")
        if target is not None and source is not None and source.get("file"):
            found.append((target.get("dev", ""), source.get("file", "")))
    return found


def stable_rescue_xml(original: str, rescue_disk: str, device: str, bus: str, prefix: str) -> str:
    """``original`` with ``rescue_disk`` (qcow2) attached as one more ``device``
    (``disk``, ``cdrom`` or ``floppy``) on ``bus``, named with the first free letter of
    ``prefix``, and booted first (Nova's stable device rescue). The guest's own disks
    keep their names and addresses; only the boot order changes: the ``<os>`` boot
    devices and the other devices' boot orders go, and a direct kernel boot's kernel,
    initrd and command line go too (the firmware boots the rescue device)."""
    root = etree.fromstring(original.encode())
    devices = root.find("devices")
    if devices is None:
        raise errors.InvalidInput("the domain has no devices")
    for boot in devices.iterfind("*/boot"):
        parent = boot.getparent()
        if parent is not None:
            parent.remove(boot)
    os_element = root.find("os")
    if os_element is not None:
        for name in ("boot", "kernel", "initrd", "cmdline", "dtb"):
            for found in os_element.findall(name):
                os_element.remove(found)
    disks = devices.findall("disk")
    used = {t.get("dev", "") for d in disks if (t := d.find("target")) is not None}
    free = [prefix + letter for letter in _LETTERS if prefix + letter not in used]
    if not free:
        raise errors.InvalidInput(f"no free {prefix}* device name for the rescue {device}")
    rescue = etree.Element("disk", type="file", device=device)
    etree.SubElement(rescue, "driver", name="qemu", type="qcow2")
    etree.SubElement(rescue, "source", file=rescue_disk)
    etree.SubElement(rescue, "target", dev=free[0], bus=bus)
    etree.SubElement(rescue, "boot", order="1")
    if device == "cdrom":
        etree.SubElement(rescue, "readonly")
    if disks:
        disks[-1].addnext(rescue)
    else:
        emulator = devices.find("emulator")
        devices.insert(0 if emulator is None else devices.index(emulator) + 1, rescue)
    return etree.tostring(root, encoding="unicode")
