"""The image-property table: known properties by type, arch names, image references."""

from __future__ import annotations

import pytest

from virtfleet import errors
from virtfleet.objects.image_properties import IMAGE_PROPERTIES, Kind, validate_image_properties
from virtfleet.virt.arch import canonicalize

EXISTING = {"kernel-1", "ramdisk-1"}


def validate(props: dict[str, object]) -> dict[str, object]:
    return validate_image_properties(props, canonicalize, EXISTING.__contains__)


def test_known_values_pass_and_arch_names_are_canonicalised() -> None:
    props = {
        "hw_architecture": "AMD64",
        "hw_emulation_architecture": "x86-64",
        "hw_machine_type": "q35",
        "hw_firmware_type": "uefi",
        "hw_disk_bus": "scsi",
        "hw_cdrom_bus": "sata",
        "hw_video_model": "virtio",
        "hw_vif_model": "e1000",
        "hw_maxphysaddr_mode": "emulate",
        "hw_maxphysaddr_bits": "42",
        "kernel_id": "kernel-1",
        "ramdisk_id": "ramdisk-1",
        "os_command_line": "console=ttyS0",
        "my_own_property": "kept",
    }
    result = validate(props)
    assert result["hw_architecture"] == "x86_64"
    assert result["hw_emulation_architecture"] == "x86_64"
    assert result["hw_maxphysaddr_bits"] == "42"
    assert validate({"hw_emulation_architecture": "arm64"}) == {
        "hw_emulation_architecture": "aarch64"
    }
    assert result["my_own_property"] == "kept"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("hw_architecture", "vax", "'vax'"),
        ("hw_emulation_architecture", "z80", "valid:"),
        ("hw_firmware_type", "coreboot", "expected one of bios, uefi"),
        ("hw_disk_bus", "floppy", "expected one of virtio"),
        ("hw_cdrom_bus", "virtio-blk", "expected one of"),
        ("hw_video_model", "svga", "expected one of"),
        ("hw_vif_model", "tulip", "expected one of"),
        ("hw_maxphysaddr_mode", "bogus", "expected one of emulate, passthrough"),
        ("hw_maxphysaddr_bits", "99", "expected an integer from 32 to 52"),
        ("kernel_id", "no-such-image", "no image with that id exists"),
        ("ramdisk_id", "missing", "no image with that id exists"),
        ("hw_machine_type", "  ", "must not be empty"),
    ],
)
def test_bad_values_name_property_and_value(name: str, value: str, fragment: str) -> None:
    props: dict[str, object] = {name: value}
    if name == "hw_maxphysaddr_bits":
        props["hw_maxphysaddr_mode"] = "emulate"
    with pytest.raises(errors.InvalidInput) as exc:
        validate(props)
    assert name in exc.value.message
    assert fragment in exc.value.message


def test_maxphysaddr_cross_checks_apply_to_images() -> None:
    with pytest.raises(errors.InvalidInput, match="requires maxphysaddr bits"):
        validate({"hw_maxphysaddr_mode": "emulate"})
    with pytest.raises(errors.InvalidInput, match="not allowed"):
        validate({"hw_maxphysaddr_mode": "passthrough", "hw_maxphysaddr_bits": "40"})


def test_non_string_known_property_is_refused() -> None:
    with pytest.raises(errors.InvalidInput, match="expected a string"):
        validate({"hw_disk_bus": 3})


def test_table_kinds() -> None:
    kinds = {p.name: p.kind for p in IMAGE_PROPERTIES}
    assert kinds["hw_architecture"] is Kind.ARCH
    assert kinds["kernel_id"] is Kind.IMAGE_ID
    assert all(p.description for p in IMAGE_PROPERTIES)
