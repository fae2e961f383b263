"""The stable rescue device of a guest: defaults per device, the buses each
architecture and machine type offers, and 400-worthy refusals naming the property,
its value and what the guest allows."""

from __future__ import annotations

import pytest

from virtfleet import errors
from virtfleet.virt import rescue_devices


@pytest.mark.parametrize(
    ("properties", "arch", "machine", "expected"),
    [
        ({"hw_rescue_device": "disk"}, "x86_64", None, ("disk", "virtio")),
        ({"hw_rescue_bus": "sata"}, "x86_64", None, ("disk", "sata")),  # device: disk
        ({"hw_rescue_device": "cdrom"}, "x86_64", None, ("cdrom", "sata")),  # q35's
        ({"hw_rescue_device": "cdrom"}, "x86_64", "pc-i440fx-7.2", ("cdrom", "ide")),
        ({"hw_rescue_device": "disk", "hw_rescue_bus": "ide"}, "x86_64", "pc", ("disk", "ide")),
        ({"hw_rescue_device": "floppy"}, "x86_64", "pc", ("floppy", "fdc")),
        (
            {"hw_rescue_device": "floppy", "hw_rescue_bus": "fdc"},
            "i686",
            "isapc",
            ("floppy", "fdc"),
        ),
        ({"hw_rescue_device": "cdrom", "hw_rescue_bus": "usb"}, "aarch64", None, ("cdrom", "usb")),
        ({"hw_rescue_device": "disk", "hw_rescue_bus": "ide"}, "mips", None, ("disk", "ide")),
    ],
    ids=[
        "disk",
        "bus-only",
        "cdrom-q35",
        "cdrom-i440fx",
        "ide-on-pc",
        "floppy-pc",
        "floppy-isapc",
        "cdrom-usb-aarch64",
        "ide-on-malta",
    ],
)
def test_the_device_and_bus_of_a_guest(
    properties: dict[str, str], arch: str, machine: str | None, expected: tuple[str, str]
) -> None:
    found = rescue_devices.resolve(properties, arch, machine)
    assert found is not None and (found.device, found.bus) == expected


def test_an_image_without_either_property_keeps_the_older_layout() -> None:
    assert rescue_devices.resolve({}, "x86_64", None) is None
    assert rescue_devices.resolve({"hw_rescue_device": ""}, "x86_64", None) is None
    assert not rescue_devices.wanted({"hw_disk_bus": "scsi"})


@pytest.mark.parametrize(
    ("properties", "arch", "machine", "message"),
    [
        (
            {"hw_rescue_device": "floppy"},
            "x86_64",
            None,
            "Invalid image property hw_rescue_device='floppy': guest architecture x86_64 "
            "(machine q35) has no floppy controller; valid: disk, cdrom.",
        ),
        (
            {"hw_rescue_device": "floppy"},
            "aarch64",
            None,
            "Invalid image property hw_rescue_device='floppy': guest architecture aarch64 "
            "(machine virt) has no floppy controller; valid: disk, cdrom.",
        ),
        (
            {"hw_rescue_device": "cdrom"},
            "riscv32",
            None,
            "Invalid image property hw_rescue_device='cdrom': guest architecture riscv32 "
            "(machine virt) has no CD-ROM bus; valid: disk.",
        ),
        (
            {"hw_rescue_bus": "ide"},
            "x86_64",
            "q35",
            "Invalid image property hw_rescue_bus='ide' for a rescue disk on guest "
            "architecture x86_64 (machine q35): valid: virtio, scsi, sata, usb.",
        ),
        (
            {"hw_rescue_device": "floppy", "hw_rescue_bus": "virtio"},
            "x86_64",
            "pc",
            "Invalid image property hw_rescue_bus='virtio' for a rescue floppy on guest "
            "architecture x86_64 (machine pc): valid: fdc.",
        ),
        (
            {"hw_rescue_device": "cdrom", "hw_rescue_bus": "fdc"},
            "x86_64",
            None,
            "Invalid image property hw_rescue_bus='fdc' for a rescue cdrom on guest "
            "architecture x86_64 (machine q35): valid: sata, virtio, scsi, usb.",
        ),
        (
            {"hw_rescue_bus": "sata"},
            "ppc64le",
            None,
            "Invalid image property hw_rescue_bus='sata' for a rescue disk on guest "
            "architecture ppc64le (machine pseries): valid: virtio, scsi.",
        ),
    ],
    ids=[
        "floppy-q35",
        "floppy-arm",
        "cdrom-riscv32",
        "ide-q35",
        "floppy-virtio",
        "cdrom-fdc",
        "sata-ppc",
    ],
)
def test_what_the_guest_lacks_is_refused_naming_what_it_allows(
    properties: dict[str, str], arch: str, machine: str | None, message: str
) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        rescue_devices.resolve(properties, arch, machine)
    assert caught.value.message == message
