"""Guest architecture inferred from image bytes the test builds: executable headers,
and disks (raw and qcow2) whose EFI System Partition holds a BOOT<ARCH>.EFI loader."""

from __future__ import annotations

import pathlib

import pytest

from support import image_bytes
from virtfleet.image.arch_inference import Inference, infer


def infer_bytes(tmp_path: pathlib.Path, data: bytes) -> Inference:
    path = tmp_path / "image"
    path.write_bytes(data)
    return infer(path)


@pytest.mark.parametrize("arch", ["x86_64", "aarch64", "ppc64le", "ppc64", "s390x", "i686"])
def test_an_elf_kernel_names_its_arch(tmp_path: pathlib.Path, arch: str) -> None:
    assert infer_bytes(tmp_path, image_bytes.elf(arch)) == Inference(arch, "elf")


def test_an_arm64_efi_binary_is_aarch64_by_its_pe_machine(tmp_path: pathlib.Path) -> None:
    found = infer_bytes(tmp_path, image_bytes.pe(image_bytes.PE_ARM64))
    assert found == Inference("aarch64", "pe")


def test_linux_boot_headers_name_the_arch(tmp_path: pathlib.Path) -> None:
    arm64_image = bytearray(4096)
    arm64_image[0x38:0x3C] = b"ARM\x64"
    assert infer_bytes(tmp_path, bytes(arm64_image)) == Inference("aarch64", "linux-boot-header")
    bzimage = bytearray(4096)
    bzimage[0x202:0x206] = b"HdrS"
    bzimage[0x206:0x208] = (0x020F).to_bytes(2, "little")
    bzimage[0x236] = 0x01  # XLF_KERNEL_64
    assert infer_bytes(tmp_path, bytes(bzimage)) == Inference("x86_64", "linux-boot-header")


@pytest.mark.parametrize(
    ("table", "fat_bits", "loader", "content", "arch"),
    [
        ("gpt", 16, "BOOTAA64.EFI", image_bytes.pe(image_bytes.PE_ARM64), "aarch64"),
        ("dos", 12, "BOOTX64.EFI", image_bytes.pe(image_bytes.PE_AMD64), "x86_64"),
        # a long name (LFN entries) on FAT32, and a loader that is no PE: the name says it
        ("gpt", 32, "BOOTRISCV64.EFI", b"not a PE file", "riscv64"),
    ],
    ids=["gpt-fat16-arm64", "mbr-fat12-x64", "gpt-fat32-riscv64-by-name"],
)
def test_a_disk_is_read_through_its_efi_system_partition(
    tmp_path: pathlib.Path, table: str, fat_bits: int, loader: str, content: bytes, arch: str
) -> None:
    disk = image_bytes.esp_disk(tmp_path, {loader: content}, table=table, fat_bits=fat_bits)
    assert infer(disk) == Inference(arch, "esp-boot-loader")
    assert infer(image_bytes.qcow2(disk)) == Inference(arch, "esp-boot-loader")


def test_the_pe_machine_wins_over_the_loader_name(tmp_path: pathlib.Path) -> None:
    disk = image_bytes.esp_disk(tmp_path, {"BOOTX64.EFI": image_bytes.pe(image_bytes.PE_ARM64)})
    assert infer(disk).arch == "aarch64"


def test_compressed_qcow2_clusters_are_not_read(tmp_path: pathlib.Path) -> None:
    disk = image_bytes.esp_disk(tmp_path, {"BOOTAA64.EFI": image_bytes.pe(image_bytes.PE_ARM64)})
    found = infer(image_bytes.qcow2(disk, compressed=True))
    assert found == Inference(None, reason="compressed qcow2 clusters")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\0" * 4096, "no EFI System Partition"),
        (b"garbage " * 1000, "no EFI System Partition"),
        (b"\x7fELF\x09\x09" + bytes(100), "no EFI System Partition"),  # bad class/order
        (b"MZ" + bytes(0x3A) + b"\xff\xff\x00\x00", "no EFI System Partition"),  # PE past the end
        (b"QFI\xfb" + bytes(100), "qcow2 version 0"),
        (b"QFI\xfb" + bytes(20), "qcow2 header cut short"),
        (b"", "no EFI System Partition"),
    ],
    ids=["zeros", "text", "bad-elf", "bad-pe", "bad-qcow2", "short-qcow2", "empty"],
)
def test_garbage_gives_no_arch_and_says_why(
    tmp_path: pathlib.Path, data: bytes, reason: str
) -> None:
    found = infer_bytes(tmp_path, data)
    assert (found.arch, found.source) == (None, None)
    assert reason in found.reason


def test_disk_shapes_without_a_loader_say_what_is_missing(tmp_path: pathlib.Path) -> None:
    empty_boot = image_bytes.esp_disk(tmp_path, {"README.TXT": b"hello"})
    assert infer(empty_boot) == Inference(
        None, reason="\\EFI\\BOOT holds no BOOT<ARCH>.EFI boot loader"
    )
    two = image_bytes.esp_disk(tmp_path, {"BOOTX64.EFI": b"x", "BOOTAA64.EFI": b"y"}, table="dos")
    found = infer(two)
    assert found.arch is None and "several arches" in found.reason


def test_an_unreadable_path_is_a_reason_not_an_error(tmp_path: pathlib.Path) -> None:
    found = infer(tmp_path / "missing")
    assert found.arch is None and "cannot read the data" in found.reason
