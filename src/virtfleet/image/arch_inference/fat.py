"""Read files of a FAT12/16/32 file system on a disk (enough to find the ESP's
removable-media boot loader, ``\\EFI\\BOOT\\BOOT<ARCH>.EFI``), with bounded walks."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from virtfleet.image.arch_inference.partitions import Partition
from virtfleet.image.arch_inference.readers import GuestReader, UnreadableError

_MAX_CHAIN = 4096  # clusters followed in one directory or file
_ATTR_DIRECTORY = 0x10
_ATTR_VOLUME = 0x08
_ATTR_LFN = 0x0F


@dataclass(frozen=True)
class Entry:
    """A directory entry: its (long, else short) name, first cluster, size, kind."""

    name: str
    cluster: int
    size: int
    is_dir: bool


class FatVolume:
    """A FAT file system in ``partition`` of ``disk``."""

    def __init__(self, disk: GuestReader, partition: Partition) -> None:
        self.disk = disk
        self.base = partition.offset
        boot = disk.read(self.base, 512)
        if len(boot) < 512 or boot[510:512] != b"\x55\xaa":
            raise UnreadableError("the EFI System Partition holds no FAT boot sector")
        sector_size, per_cluster, reserved, fats, root_entries, total16, _, fat16 = (
            struct.unpack_from("<HBHBHHBH", boot, 11)
        )
        (total32,) = struct.unpack_from("<I", boot, 32)
        (fat32, root_cluster) = struct.unpack_from("<I4xI", boot, 36)
        if sector_size not in (512, 1024, 2048, 4096) or per_cluster == 0 or fats == 0:
            raise UnreadableError("the EFI System Partition's FAT boot sector is not valid")
        self.sector = sector_size
        self.cluster_size = sector_size * per_cluster
        fat_sectors = fat16 or fat32
        total = total16 or total32
        root_sectors = (root_entries * 32 + sector_size - 1) // sector_size
        self.fat_start = reserved * sector_size
        self.root_start = self.fat_start + fats * fat_sectors * sector_size
        self.data_start = self.root_start + root_sectors * sector_size
        clusters = (total * sector_size - self.data_start) // self.cluster_size
        self.bits = 12 if clusters < 4085 else 16 if clusters < 65525 else 32
        self.root_entries = root_entries
        self.root_cluster = root_cluster if self.bits == 32 else 0

    def root(self) -> list[Entry]:
        if self.bits == 32:
            return self.directory(self.root_cluster)
        data = self.disk.read(self.base + self.root_start, self.root_entries * 32)
        return _entries(data)

    def directory(self, cluster: int) -> list[Entry]:
        return _entries(self.read_chain(cluster, limit=None))

    def find(self, entries: list[Entry], name: str) -> Entry | None:
        """The entry named ``name`` (case-insensitively, as FAT compares)."""
        return next((e for e in entries if e.name.upper() == name.upper()), None)

    def read_chain(self, cluster: int, limit: int | None) -> bytes:
        """The data of the cluster chain starting at ``cluster`` (at most ``limit``
        bytes when given)."""
        out = bytearray()
        for _ in range(_MAX_CHAIN):
            if cluster < 2 or self._is_end(cluster):
                break
            offset = self.base + self.data_start + (cluster - 2) * self.cluster_size
            out += self.disk.read(offset, self.cluster_size)
            if limit is not None and len(out) >= limit:
                return bytes(out[:limit])
            cluster = self._next(cluster)
        return bytes(out)

    def _is_end(self, cluster: int) -> bool:
        return cluster >= {12: 0xFF8, 16: 0xFFF8, 32: 0x0FFFFFF8}[self.bits]

    def _next(self, cluster: int) -> int:
        fat = self.base + self.fat_start
        if self.bits == 12:
            pair = self.disk.read(fat + cluster * 3 // 2, 2).ljust(2, b"\0")
            (value,) = struct.unpack("<H", pair)
            return int(value >> 4 if cluster & 1 else value & 0xFFF)
        if self.bits == 16:
            (value,) = struct.unpack("<H", self.disk.read(fat + cluster * 2, 2).ljust(2, b"\0"))
            return int(value)
        (value,) = struct.unpack("<I", self.disk.read(fat + cluster * 4, 4).ljust(4, b"\0"))
        return int(value) & 0x0FFFFFFF


def _entries(data: bytes) -> list[Entry]:
    entries: list[Entry] = []
    long_parts: dict[int, str] = {}
    for start in range(0, len(data) - 31, 32):
        raw = data[start : start + 32]
        if raw[0] == 0:
            break
        if raw[0] == 0xE5:
            long_parts = {}
            continue
        attributes = raw[11]
        if attributes == _ATTR_LFN:
            text = (raw[1:11] + raw[14:26] + raw[28:32]).decode("utf-16-le", "replace")
            long_parts[raw[0] & 0x1F] = text.split("\0")[0]
            continue
        if attributes & _ATTR_VOLUME:
            long_parts = {}
            continue
        short = raw[:8].decode("ascii", "replace").rstrip()
        ext = raw[8:11].decode("ascii", "replace").rstrip()
        name = "".join(long_parts[i] for i in sorted(long_parts)) if long_parts else short
        if not long_parts and ext:
            name = f"{short}.{ext}"
        high, low, size = struct.unpack_from("<H4xHI", raw, 20)
        entries.append(Entry(name, (high << 16) | low, size, bool(attributes & _ATTR_DIRECTORY)))
        long_parts = {}
    return entries


__all__ = ["Entry", "FatVolume"]
