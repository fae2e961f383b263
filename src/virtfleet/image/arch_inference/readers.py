"""Read a disk image's guest bytes at an offset: raw files as they are, qcow2 through
its L1/L2 tables (uncompressed clusters only: inference gives up on compressed ones,
encryption, external data files and extended L2 entries)."""

from __future__ import annotations

import struct
from typing import BinaryIO, Protocol

QCOW2_MAGIC = b"QFI\xfb"
_L2_OFFSET_MASK = 0x00FF_FFFF_FFFF_FE00
_COMPRESSED = 1 << 62
_ZERO = 1
# Incompatible features we cannot read past: corrupt, external data file, extended L2.
_UNREADABLE_FEATURES = (1 << 1) | (1 << 2) | (1 << 4)


class UnreadableError(Exception):
    """The image's layout is one inference does not read (the message says why)."""


class GuestReader(Protocol):
    """The guest's view of a disk image."""

    size: int

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at guest ``offset`` (short at the end of the disk)."""
        ...


class RawReader:
    """A raw disk image: guest bytes are the file's bytes."""

    def __init__(self, file: BinaryIO, size: int) -> None:
        self.file = file
        self.size = size

    def read(self, offset: int, length: int) -> bytes:
        if offset >= self.size:
            return b""
        self.file.seek(offset)
        return self.file.read(min(length, self.size - offset))


class Qcow2Reader:
    """A qcow2 (version 2 or 3) image without a backing file."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        header = file.read(104)
        if header[:4] != QCOW2_MAGIC:
            raise UnreadableError("not a qcow2 file")
        if len(header) < 72:
            raise UnreadableError("a qcow2 header cut short")
        version, backing_offset = struct.unpack_from(">IQ", header, 4)
        self.cluster_bits, self.size, crypt, l1_size, l1_offset = struct.unpack_from(
            ">IQIIQ", header, 20
        )
        if version not in (2, 3) or not 9 <= self.cluster_bits <= 21:
            raise UnreadableError(f"qcow2 version {version} / cluster bits {self.cluster_bits}")
        if backing_offset:
            raise UnreadableError("qcow2 image with a backing file")
        if crypt:
            raise UnreadableError("encrypted qcow2 image")
        if version == 3 and len(header) >= 80:
            (incompatible,) = struct.unpack_from(">Q", header, 72)
            if incompatible & _UNREADABLE_FEATURES:
                raise UnreadableError(f"qcow2 incompatible features {incompatible:#x}")
        self.cluster_size = 1 << self.cluster_bits
        self.l2_bits = self.cluster_bits - 3
        if l1_size > (1 << 24):
            raise UnreadableError(f"qcow2 L1 table of {l1_size} entries")
        file.seek(l1_offset)
        table = file.read(8 * l1_size)
        if len(table) != 8 * l1_size:
            raise UnreadableError("qcow2 L1 table past the end of the file")
        self.l1 = struct.unpack(f">{l1_size}Q", table)

    def read(self, offset: int, length: int) -> bytes:
        out = bytearray()
        end = min(offset + length, self.size)
        while offset < end:
            within = offset & (self.cluster_size - 1)
            take = min(self.cluster_size - within, end - offset)
            host = self._host_cluster(offset)
            if host is None:
                out += bytes(take)
            else:
                self.file.seek(host + within)
                chunk = self.file.read(take)
                out += chunk.ljust(take, b"\0")
            offset += take
        return bytes(out)

    def _host_cluster(self, offset: int) -> int | None:
        l1_index = offset >> (self.cluster_bits + self.l2_bits)
        if l1_index >= len(self.l1):
            return None
        l2_table = self.l1[l1_index] & _L2_OFFSET_MASK
        if not l2_table:
            return None
        l2_index = (offset >> self.cluster_bits) & ((1 << self.l2_bits) - 1)
        self.file.seek(l2_table + 8 * l2_index)
        raw = self.file.read(8)
        if len(raw) != 8:
            raise UnreadableError("qcow2 L2 table past the end of the file")
        (entry,) = struct.unpack(">Q", raw)
        if entry & _COMPRESSED:
            raise UnreadableError("compressed qcow2 clusters")
        host = entry & _L2_OFFSET_MASK
        if entry & _ZERO or not host:
            return None
        return int(host)


__all__ = ["GuestReader", "Qcow2Reader", "RawReader", "UnreadableError"]
