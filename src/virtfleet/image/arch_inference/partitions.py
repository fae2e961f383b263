"""Find a disk's EFI System Partition: a GPT entry of the ESP type, an MBR entry of
type 0xEF, or the whole disk when it is itself a FAT file system."""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from virtfleet.image.arch_inference.readers import GuestReader

SECTOR = 512
ESP_TYPE_GUID = uuid.UUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B").bytes_le
_MBR_ESP = 0xEF
_MBR_PROTECTIVE = 0xEE
_MAX_GPT_ENTRIES = 256


@dataclass(frozen=True)
class Partition:
    """A byte range of the disk."""

    offset: int
    size: int


def efi_system_partition(disk: GuestReader) -> Partition | None:
    """The disk's ESP, or None (no partition table with one, and not a FAT disk)."""
    mbr = disk.read(0, SECTOR)
    if len(mbr) < SECTOR or mbr[510:512] != b"\x55\xaa":
        return None
    entries = [struct.unpack_from("<4xB3xII", mbr, 446 + 16 * i) for i in range(4)]
    if any(kind == _MBR_PROTECTIVE for kind, _, _ in entries):
        return _gpt_esp(disk)
    for kind, first, sectors in entries:
        if kind == _MBR_ESP and sectors:
            return Partition(first * SECTOR, sectors * SECTOR)
    if _looks_like_fat(mbr):
        return Partition(0, disk.size)
    return None


def _gpt_esp(disk: GuestReader) -> Partition | None:
    header = disk.read(SECTOR, 92)
    if header[:8] != b"EFI PART":
        return None
    entries_lba, count, entry_size = struct.unpack_from("<QII", header, 72)
    if entry_size < 56 or entry_size > 4096:
        return None
    count = min(count, _MAX_GPT_ENTRIES)
    table = disk.read(entries_lba * SECTOR, count * entry_size)
    for index in range(len(table) // entry_size):
        entry = table[index * entry_size : (index + 1) * entry_size]
        if entry[:16] == ESP_TYPE_GUID:
            first, last = struct.unpack_from("<QQ", entry, 32)
            if last >= first:
                return Partition(first * SECTOR, (last - first + 1) * SECTOR)
    return None


def _looks_like_fat(boot_sector: bytes) -> bool:
    return boot_sector[54:57] == b"FAT" or boot_sector[82:87] == b"FAT32"


__all__ = ["ESP_TYPE_GUID", "Partition", "efi_system_partition"]
