"""Idle kernels for diskless TCG contract guests: they boot in a fraction of a second
and then halt their virtual CPU for good, so a test guest costs no host CPU.

- x86_64: a multiboot v1 image that carries its own load addresses (QEMU's ``-kernel``
  loads it at 1 MiB without an ELF header); its entry disables interrupts and halts.
  With ``ballast_mib`` the file carries that many MiB of non-zero bytes after the
  code, which QEMU loads into the guest's memory: a live migration then has that much
  to copy (zero pages cost next to nothing), so a bandwidth cap makes it last.
- aarch64: a raw image (QEMU loads raw arm64 images at the RAM base) that waits for an
  interrupt forever.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

_MULTIBOOT_MAGIC = 0x1BADB002
_MULTIBOOT_FLAG_ADDRESSES = 0x00010000
_LOAD_AT = 0x0010_0000
_HEADER_WORDS = 8
_CLI_HLT_LOOP = bytes((0xFA, 0xF4, 0xEB, 0xFD))  # cli; hlt; jmp -3 (back to hlt)
_WFI, _BRANCH_TO_WFI = 0xD503207F, 0x17FFFFFF  # wfi; b .-4
_NON_ZERO = bytes(i % 255 + 1 for i in range(256))  # 4,096 of them make a MiB


def _x86_64() -> bytes:
    checksum = -(_MULTIBOOT_MAGIC + _MULTIBOOT_FLAG_ADDRESSES) & 0xFFFFFFFF
    entry = _LOAD_AT + 4 * _HEADER_WORDS
    # magic, flags, checksum, header_addr, load_addr, load_end (0: whole file),
    # bss_end (none), entry_addr
    header = struct.pack(
        "<8I",
        _MULTIBOOT_MAGIC,
        _MULTIBOOT_FLAG_ADDRESSES,
        checksum,
        _LOAD_AT,
        _LOAD_AT,
        0,
        0,
        entry,
    )
    return header + _CLI_HLT_LOOP


def _aarch64() -> bytes:
    return struct.pack("<2I", _WFI, _BRANCH_TO_WFI)


IDLE_KERNELS: dict[str, Callable[[], bytes]] = {"x86_64": _x86_64, "aarch64": _aarch64}


def idle_kernel(arch: str, directory: Path, ballast_mib: int = 0) -> Path:
    """Write the idle kernel of ``arch`` under ``directory`` (x86_64: with
    ``ballast_mib`` MiB of non-zero bytes loaded after it); its path."""
    if ballast_mib and arch != "x86_64":
        raise ValueError(f"no ballast for {arch}: only the x86_64 image is loaded whole")
    path = directory / f"idle-{arch}{f'-{ballast_mib}m' if ballast_mib else ''}.img"
    path.write_bytes(IDLE_KERNELS[arch]() + _NON_ZERO * (ballast_mib * 4096))
    return path
