"""Tiny "idle forever" kernels for direct kernel boot of TCG test guests.

Each payload halts the virtual CPU in a loop, so a guest starts in well under a second
and burns no host CPU:

- aarch64: a raw image ``wfi; b .-4`` (QEMU loads raw arm64 images as kernels).
- x86_64: a multiboot (v1) image using the address fields of the header, loaded at
  1 MiB, whose entry runs ``cli; hlt; jmp .-1`` (interrupts off: halted for good).
"""

from __future__ import annotations

import struct
from pathlib import Path

MULTIBOOT_MAGIC = 0x1BADB002
MULTIBOOT_ADDRESS_FIELDS = 1 << 16
LOAD_ADDRESS = 0x100000
HEADER_SIZE = 32


def aarch64_idle() -> bytes:
    wfi, branch_back = 0xD503207F, 0x17FFFFFF
    return struct.pack("<II", wfi, branch_back)


def x86_64_idle() -> bytes:
    flags = MULTIBOOT_ADDRESS_FIELDS
    checksum = (-(MULTIBOOT_MAGIC + flags)) & 0xFFFFFFFF
    entry = LOAD_ADDRESS + HEADER_SIZE
    header = struct.pack(
        "<8I", MULTIBOOT_MAGIC, flags, checksum, LOAD_ADDRESS, LOAD_ADDRESS, 0, 0, entry
    )
    code = bytes([0xFA, 0xF4, 0xEB, 0xFD])  # cli; hlt; jmp back to hlt
    return header + code


PAYLOADS = {"aarch64": aarch64_idle, "x86_64": x86_64_idle}


def write_payload(arch: str, directory: Path) -> Path:
    """Write the idle kernel for ``arch`` into ``directory`` and return its path."""
    path = directory / f"idle-{arch}.bin"
    path.write_bytes(PAYLOADS[arch]())
    return path
