"""Infer a guest architecture from an image's data, for images that do not name one.

What is read, in order:

1. the file's own header: ELF (``e_machine``), PE/COFF (``Machine``: an EFI binary or
   an EFI-stub kernel), or a Linux boot header (arm64/RISC-V ``Image``, x86 ``bzImage``);
2. for disk images (raw, or qcow2 through its cluster tables): the EFI System
   Partition's removable-media boot loader ``\\EFI\\BOOT\\BOOT<ARCH>.EFI`` — its PE
   header's machine, else the ``<ARCH>`` of its name (UEFI's file name table).

:func:`infer` never raises for bad data: it answers an :class:`Inference` with the
arch, or with none and the reason, which the caller logs.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import BinaryIO

from virtfleet.image.arch_inference import headers
from virtfleet.image.arch_inference.fat import FatVolume
from virtfleet.image.arch_inference.partitions import efi_system_partition
from virtfleet.image.arch_inference.readers import (
    QCOW2_MAGIC,
    GuestReader,
    Qcow2Reader,
    RawReader,
    UnreadableError,
)

#: What each ``source`` of an inference means (the value of the image property
#: recording it).
SOURCES = {
    "elf": "the ELF header of the image (a kernel or boot loader)",
    "pe": "the PE/COFF header of the image (an EFI binary or EFI-stub kernel)",
    "linux-boot-header": "the boot header of a Linux kernel image",
    "esp-boot-loader": "the boot loader in the disk's EFI System Partition",
}

#: UEFI's removable-media boot file names (\EFI\BOOT\BOOT<ARCH>.EFI) -> arch.
ESP_LOADER_NAMES = {
    "BOOTX64.EFI": "x86_64",
    "BOOTIA32.EFI": "i686",
    "BOOTAA64.EFI": "aarch64",
    "BOOTARM.EFI": "armv7l",
    "BOOTRISCV64.EFI": "riscv64",
    "BOOTRISCV32.EFI": "riscv32",
}


@dataclass(frozen=True)
class Inference:
    """An inferred arch and where it was read (``SOURCES``), or None and why not."""

    arch: str | None
    source: str | None = None
    reason: str = ""


def infer(path: pathlib.Path) -> Inference:
    """The guest architecture of the image data at ``path``."""
    try:
        with path.open("rb") as file:
            return infer_file(file, path.stat().st_size)
    except OSError as exc:
        return Inference(None, reason=f"cannot read the data: {exc.strerror or exc}")


def infer_file(file: BinaryIO, size: int) -> Inference:
    """The guest architecture of the image data in ``file`` (seekable, ``size`` bytes)."""
    try:
        head = file.read(headers.HEAD_BYTES)
        found = _from_header(head)
        if found is not None:
            return found
        file.seek(0)
        disk: GuestReader = Qcow2Reader(file) if head[:4] == QCOW2_MAGIC else RawReader(file, size)
        return _from_disk(disk)
    except UnreadableError as exc:
        return Inference(None, reason=str(exc))
    except OSError as exc:
        return Inference(None, reason=f"cannot read the data: {exc.strerror or exc}")


def _from_header(head: bytes) -> Inference | None:
    for source, read in (
        ("elf", headers.elf_arch),
        ("pe", headers.pe_arch),
        ("linux-boot-header", headers.linux_image_arch),
    ):
        arch = read(head)
        if arch is not None:
            return Inference(arch, source)
    return None


def _from_disk(disk: GuestReader) -> Inference:
    partition = efi_system_partition(disk)
    if partition is None:
        return Inference(
            None,
            reason="no ELF, PE or Linux kernel header, and no EFI System Partition on a disk",
        )
    volume = FatVolume(disk, partition)
    boot_dir = None
    efi = volume.find(volume.root(), "EFI")
    if efi is not None and efi.is_dir:
        boot_dir = volume.find(volume.directory(efi.cluster), "BOOT")
    if boot_dir is None or not boot_dir.is_dir:
        return Inference(None, reason="the EFI System Partition has no \\EFI\\BOOT directory")
    loaders = [e for e in volume.directory(boot_dir.cluster) if e.name.upper() in ESP_LOADER_NAMES]
    if not loaders:
        return Inference(None, reason="\\EFI\\BOOT holds no BOOT<ARCH>.EFI boot loader")
    if len({ESP_LOADER_NAMES[e.name.upper()] for e in loaders}) > 1:
        names = ", ".join(sorted(e.name for e in loaders))
        return Inference(None, reason=f"\\EFI\\BOOT holds loaders of several arches: {names}")
    loader = loaders[0]
    head = volume.read_chain(loader.cluster, limit=min(loader.size, headers.HEAD_BYTES))
    arch = headers.pe_arch(head) or ESP_LOADER_NAMES[loader.name.upper()]
    return Inference(arch, "esp-boot-loader")


__all__ = ["ESP_LOADER_NAMES", "SOURCES", "Inference", "infer"]
