"""Guest architecture from an executable's header: ELF (``e_machine``), PE/COFF
(``Machine``: EFI applications and EFI-stub kernels) and the Linux boot image headers
(arm64 and RISC-V ``Image``, x86 ``bzImage``).

Every function takes the first bytes of a file (at least :data:`HEAD_BYTES` when the
file is that long) and returns a canonical architecture name, or None when the bytes
are not that kind of file or name a machine virtfleet does not know.
"""

from __future__ import annotations

import struct

#: How much of a file the header readers look at.
HEAD_BYTES = 4096

# ELF e_machine -> (arch for ELFCLASS32, arch for ELFCLASS64); a pair entry keyed by
# (machine, little endian) where the byte order decides.
_ELF_MACHINES: dict[int, tuple[str | None, str | None]] = {
    3: ("i686", None),  # EM_386
    62: (None, "x86_64"),  # EM_X86_64
    40: ("armv7l", None),  # EM_ARM
    183: (None, "aarch64"),  # EM_AARCH64
    22: (None, "s390x"),  # EM_S390
    243: ("riscv32", "riscv64"),  # EM_RISCV
}
_ELF_PPC64 = 21  # EM_PPC64: ppc64le or ppc64 by the byte order
_ELF_MIPS = 8  # EM_MIPS: by class and byte order
_MIPS = {(1, True): "mipsel", (1, False): "mips", (2, True): "mips64el", (2, False): "mips64"}

# PE/COFF Machine -> arch (the values of the PE format's IMAGE_FILE_MACHINE_*).
_PE_MACHINES = {
    0x8664: "x86_64",  # AMD64
    0x014C: "i686",  # I386
    0xAA64: "aarch64",  # ARM64
    0x01C2: "armv7l",  # ARMTHUMB / Thumb-2 (32-bit ARM UEFI)
    0x01C4: "armv7l",  # ARMNT
    0x5064: "riscv64",  # RISCV64
    0x5032: "riscv32",  # RISCV32
}


def elf_arch(head: bytes) -> str | None:
    """The architecture of an ELF file (a ``vmlinux`` kernel, an ELF boot loader)."""
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    elf_class, data = head[4], head[5]
    if elf_class not in (1, 2) or data not in (1, 2):
        return None
    little = data == 1
    (machine,) = struct.unpack_from("<H" if little else ">H", head, 18)
    if machine == _ELF_PPC64:
        return "ppc64le" if little else "ppc64"
    if machine == _ELF_MIPS:
        return _MIPS[(elf_class, little)]
    pair = _ELF_MACHINES.get(machine)
    if pair is None:
        return None
    return pair[elf_class - 1]


def pe_arch(head: bytes) -> str | None:
    """The architecture of a PE/COFF file (an EFI application, an EFI-stub kernel)."""
    if len(head) < 0x40 or head[:2] != b"MZ":
        return None
    (pe_offset,) = struct.unpack_from("<I", head, 0x3C)
    if pe_offset + 6 > len(head) or head[pe_offset : pe_offset + 4] != b"PE\0\0":
        return None
    (machine,) = struct.unpack_from("<H", head, pe_offset + 4)
    return _PE_MACHINES.get(machine)


def linux_image_arch(head: bytes) -> str | None:
    """The architecture of a Linux kernel by its boot header: arm64 ``Image`` (magic
    ``ARM\\x64`` at 0x38), RISC-V ``Image`` (``RSC\\x05`` at 0x38) or x86 ``bzImage``
    (``HdrS`` at 0x202; 64-bit when ``xloadflags`` says it can be loaded above 4 GiB)."""
    if head[0x38:0x3C] == b"ARM\x64":
        return "aarch64"
    if head[0x38:0x3C] == b"RSC\x05":
        return "riscv64"
    if len(head) >= 0x238 and head[0x202:0x206] == b"HdrS":
        (version,) = struct.unpack_from("<H", head, 0x206)
        if version >= 0x020C:
            (xloadflags,) = struct.unpack_from("<H", head, 0x236)
            return "x86_64" if xloadflags & 0x1 else "i686"
        return "i686"
    return None


__all__ = ["HEAD_BYTES", "elf_arch", "linux_image_arch", "pe_arch"]
