"""The rescue definition made from a guest's own: the rescue disk first (booted
first), the other disks on its prefix one letter on, everything else unchanged."""

from __future__ import annotations

import pytest
from lxml import etree

from virtfleet import errors
from virtfleet.virt.libvirt import rescue

ORIGINAL = """<domain type='qemu'>
  <name>vf-x</name>
  <os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/i/x/disk'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/i/x/disk.config'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='bridge'><mac address='fa:16:3e:00:00:01'/></interface>
  </devices>
</domain>"""


def test_the_rescue_disk_goes_first_and_boots_first() -> None:
    made = rescue.rescue_xml(ORIGINAL, "/i/x/disk.rescue", "virtio", "vd")
    assert rescue.disk_sources(made) == [
        ("vda", "/i/x/disk.rescue"),
        ("vdb", "/i/x/disk"),
        ("sda", "/i/x/disk.config"),  # another prefix: unchanged
    ]
    root = etree.fromstring(made.encode())
    assert root.find("os/boot") is None
    first = root.find("devices/disk")
    assert first is not None and first.find("boot").get("order") == "1"  # type: ignore[union-attr]
    assert root.find("devices/disk/address") is None  # placed again in this order
    assert root.find("devices/interface/mac").get("address") == "fa:16:3e:00:00:01"  # type: ignore[union-attr]


def test_a_config_drive_on_the_root_disks_prefix_moves_too() -> None:
    original = ORIGINAL.replace("dev='sda' bus='sata'", "dev='vdb' bus='virtio'")
    made = rescue.rescue_xml(original, "/r", "virtio", "vd")
    assert [dev for dev, _ in rescue.disk_sources(made)] == ["vda", "vdb", "vdc"]


def test_a_kernel_boot_keeps_its_kernel_and_no_boot_order() -> None:
    original = ORIGINAL.replace("<boot dev='hd'/>", "<kernel>/k</kernel>")
    root = etree.fromstring(rescue.rescue_xml(original, "/r", "virtio", "vd").encode())
    assert root.findtext("os/kernel") == "/k"
    assert root.find("devices/disk/boot") is None


def test_a_disk_that_cannot_move_aside_is_refused() -> None:
    with pytest.raises(errors.InvalidInput, match="cannot move disk vdz aside"):
        rescue.rescue_xml(ORIGINAL.replace("'vda'", "'vdz'"), "/r", "virtio", "vd")


# -- stable device rescue (hw_rescue_device / hw_rescue_bus) -----------------------------


def boot_orders(made: str) -> dict[str, str]:
    """Target device -> boot order of every device that has one."""
    root = etree.fromstring(made.encode())
    found = {}
    for device in root.iterfind("devices/*"):
        boot, target = device.find("boot"), device.find("target")
        if boot is not None:
            found[target.get("dev") if target is not None else device.tag] = boot.get("order")
    return found


@pytest.mark.parametrize(
    ("device", "bus", "prefix", "dev"),
    [
        ("disk", "virtio", "vd", "vdb"),  # after the root disk vda
        ("cdrom", "sata", "sd", "sdb"),  # after the config drive sda
        ("disk", "scsi", "sd", "sdb"),
        ("floppy", "fdc", "fd", "fda"),
    ],
    ids=["disk-virtio", "cdrom-sata", "disk-scsi", "floppy-fdc"],
)
def test_the_rescue_device_is_added_and_boots_first_the_own_disks_stay(
    device: str, bus: str, prefix: str, dev: str
) -> None:
    made = rescue.stable_rescue_xml(ORIGINAL, "/i/x/disk.rescue", device, bus, prefix)
    assert rescue.disk_sources(made) == [
        ("vda", "/i/x/disk"),  # in its place, with its address
        ("sda", "/i/x/disk.config"),
        (dev, "/i/x/disk.rescue"),
    ]
    root = etree.fromstring(made.encode())
    own = root.find("devices/disk")
    assert own is not None and own.find("address") is not None
    added = root.findall("devices/disk")[-1]
    assert added.get("device") == device
    assert added.find("target").attrib == {"dev": dev, "bus": bus}  # type: ignore[union-attr]
    assert added.find("driver").get("type") == "qcow2"  # type: ignore[union-attr]
    assert (added.find("readonly") is not None) == (device == "cdrom")
    assert boot_orders(made) == {dev: "1"}  # the only boot device
    assert root.find("os/boot") is None


def test_other_boot_orders_and_a_kernel_boot_give_way_to_the_rescue_device() -> None:
    original = ORIGINAL.replace("<boot dev='hd'/>", "<kernel>/k</kernel><initrd>/r</initrd>"
                                "<cmdline>root=/dev/vda</cmdline>")  # fmt: skip
    original = original.replace(
        "<target dev='vda' bus='virtio'/>", "<target dev='vda' bus='virtio'/><boot order='1'/>"
    ).replace("</mac>", "</mac><boot order='2'/>")
    made = rescue.stable_rescue_xml(original, "/r", "disk", "virtio", "vd")
    root = etree.fromstring(made.encode())
    assert [root.find(f"os/{name}") for name in ("kernel", "initrd", "cmdline")] == [None] * 3
    assert root.findtext("os/type") == "hvm"
    assert boot_orders(made) == {"vdb": "1"}


def test_the_first_free_name_is_taken_and_none_left_is_refused() -> None:
    original = ORIGINAL.replace("dev='sda' bus='sata'", "dev='vdb' bus='virtio'")
    made = rescue.stable_rescue_xml(original, "/r", "disk", "virtio", "vd")
    assert [dev for dev, _ in rescue.disk_sources(made)] == ["vda", "vdb", "vdc"]
    full = ORIGINAL.replace(
        "<interface",
        "".join(
            f"<disk type='file' device='disk'><source file='/d{c}'/>"
            f"<target dev='fd{c}' bus='fdc'/></disk>"
            for c in "abcdefghijklmnopqrstuvwxyz"
        )
        + "<interface",
    )
    with pytest.raises(errors.InvalidInput, match="no free fd\\* device name"):
        rescue.stable_rescue_xml(full, "/r", "floppy", "fdc", "fd")
