"""Image data built by the tests themselves, for architecture inference: ELF and PE
headers written byte by byte, and disks with an EFI System Partition made with the
machine's own tools (sfdisk, mkfs.fat, mtools, qemu-img)."""

from __future__ import annotations

import pathlib
import struct
import subprocess

ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
_MiB = 1024 * 1024

#: (ELF class, little endian, e_machine) of the arches the tests build.
ELF_MACHINES = {
    "x86_64": (2, True, 62),
    "aarch64": (2, True, 183),
    "ppc64le": (2, True, 21),
    "ppc64": (2, False, 21),
    "s390x": (2, False, 22),
    "i686": (1, True, 3),
    "riscv64": (2, True, 243),
}
#: PE/COFF Machine values.
PE_ARM64 = 0xAA64
PE_AMD64 = 0x8664


def elf(arch: str, size: int = 8192) -> bytes:
    """An ELF executable's header (then zeros) for ``arch``."""
    elf_class, little, machine = ELF_MACHINES[arch]
    order = "<" if little else ">"
    ident = b"\x7fELF" + bytes([elf_class, 1 if little else 2, 1]) + bytes(9)
    header = ident + struct.pack(f"{order}HHI", 2, machine, 1)  # ET_EXEC, machine, EV_CURRENT
    return header.ljust(size, b"\0")


def pe(machine: int, size: int = 4096) -> bytes:
    """A PE/COFF image's headers (an EFI application) for the ``machine`` value."""
    data = bytearray(size)
    data[0:2] = b"MZ"
    struct.pack_into("<I", data, 0x3C, 0x80)
    data[0x80:0x84] = b"PE\0\0"
    struct.pack_into("<HH", data, 0x84, machine, 3)  # machine, number of sections
    return bytes(data)


def esp_disk(
    directory: pathlib.Path,
    loaders: dict[str, bytes],
    table: str = "gpt",
    fat_bits: int = 16,
) -> pathlib.Path:
    """A raw disk whose ESP (one GPT or MBR partition) holds ``loaders`` in
    ``\\EFI\\BOOT`` (file name -> content)."""
    esp_mib = 40 if fat_bits == 32 else 8
    esp = directory / "esp.fat"
    esp.unlink(missing_ok=True)
    _run("truncate", "-s", f"{esp_mib}M", str(esp))
    per_cluster = "8" if fat_bits == 12 else "1"  # FAT12 holds at most 4084 clusters
    _run("mkfs.fat", "-F", str(fat_bits), "-s", per_cluster, str(esp))
    _run("mmd", "-i", str(esp), "::/EFI", "::/EFI/BOOT")
    for name, content in loaders.items():
        source = directory / f"loader-{name}"
        source.write_bytes(content)
        _run("mcopy", "-i", str(esp), str(source), f"::/EFI/BOOT/{name}")
    disk = directory / f"disk-{table}.raw"
    disk.unlink(missing_ok=True)
    _run("truncate", "-s", f"{esp_mib + 2}M", str(disk))
    label, kind = ("gpt", ESP_TYPE) if table == "gpt" else ("dos", "ef")
    layout = f"label: {label}\nstart=2048, size={esp_mib * 2048}, type={kind}\n"
    subprocess.run(["sfdisk", "-q", str(disk)], input=layout.encode(), check=True)
    with disk.open("r+b") as out:
        out.seek(2048 * 512)
        out.write(esp.read_bytes())
    return disk


def qcow2(raw: pathlib.Path, compressed: bool = False) -> pathlib.Path:
    """``raw`` converted to qcow2 (``-c``: compressed clusters)."""
    target = raw.with_suffix(".compressed.qcow2" if compressed else ".qcow2")
    _run(
        "qemu-img",
        "convert",
        "-f",
        "raw",
        "-O",
        "qcow2",
        *(["-c"] if compressed else []),
        str(raw),
        str(target),
    )
    return target


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
