"""Guest and host architectures: one table, canonical names, per-arch defaults.

Every architecture virtfleet knows is one frozen :class:`ArchInfo` row in ``_TABLE``.
Builders read the guest arch's row for its machine type, CPU model, console, buses and
so on; host discovery reads the host arch's row for what it runs natively and which
traits to report.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import os_traits

from virtfleet import errors


@dataclass(frozen=True)
class ArchInfo:
    """What virtfleet assumes about one architecture."""

    name: str
    emulator: str  # QEMU binary name (found under /usr/bin on Debian)
    machine: str  # default machine type
    hw_trait_suffix: str  # HW_ARCH_<suffix> (os-traits spelling, e.g. ARMV7)
    natively_runs: tuple[str, ...] = ()  # other arches a host of this arch runs with KVM
    cpu_supported: bool = True  # libvirt accepts a <cpu> element for this arch
    tcg_cpu_mode: str | None = "custom"  # CPU mode under TCG (custom | maximum | None)
    tcg_cpu_model: str | None = None  # named model when tcg_cpu_mode == custom
    uefi_preferred: bool = False  # boot with UEFI when the host has firmware for it
    console_target: str = "serial"  # <console><target type=...>
    kernel_console: str = "ttyS0"  # console= for direct kernel boot
    disk_buses: tuple[str, ...] = ("virtio",)  # first one is the default
    cdrom_bus: str | None = "scsi"  # None: no CD-ROM bus (no config drive)
    video_models: tuple[str, ...] = ("none",)  # "none" first: headless by default
    input_bus: str | None = None  # bus of the tablet when a video device exists
    timers: tuple[tuple[str, str, str], ...] = ()  # (name, attribute, value)
    features: tuple[str, ...] = ()  # <features> flags (acpi, apic, pae)
    tables_need_uefi: bool = False  # ACPI and SMBIOS tables only with UEFI firmware
    smbios: bool = False  # guest gets SMBIOS system information
    vif_models: tuple[str, ...] = ("virtio",)
    wordsize: int = 64
    machine_types: tuple[str, ...] = ()  # known machine types; "X.Y" stands for a version

    @property
    def hw_trait(self) -> str | None:
        """``HW_ARCH_*`` trait, when os-traits defines one."""
        return _known_trait(f"HW_ARCH_{self.hw_trait_suffix}")

    @property
    def compute_trait(self) -> str | None:
        """``COMPUTE_ARCH_*`` trait, when os-traits defines one."""
        return _known_trait(f"COMPUTE_ARCH_{self.name.upper()}")


def _known_trait(name: str) -> str | None:
    return name if hasattr(os_traits, name) else None


_X86_TIMERS = (
    ("rtc", "tickpolicy", "catchup"),
    ("pit", "tickpolicy", "delay"),
    ("hpet", "present", "no"),
)
_X86_VIDEO = ("none", "virtio", "vga", "cirrus", "bochs", "qxl")
_X86_VIFS = ("virtio", "e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet")
_X86_BUSES = ("virtio", "scsi", "sata", "ide", "usb")
_X86_MACHINES = ("q35", "pc", "pc-q35-X.Y", "pc-i440fx-X.Y", "pc-X.Y", "isapc", "microvm")
_PPC64_MACHINES = ("pseries", "pseries-X.Y", "powernv", "powernv8", "powernv9", "powernv10")

_TABLE: tuple[ArchInfo, ...] = (
    ArchInfo(
        "x86_64",
        "qemu-system-x86_64",
        "q35",
        "X86_64",
        natively_runs=("i686",),
        tcg_cpu_model="qemu64",
        cdrom_bus="sata",
        disk_buses=_X86_BUSES,
        video_models=_X86_VIDEO,
        input_bus="usb",
        timers=_X86_TIMERS,
        features=("acpi", "apic"),
        smbios=True,
        vif_models=_X86_VIFS,
        machine_types=_X86_MACHINES,
    ),
    ArchInfo(
        "i686",
        "qemu-system-i386",
        "q35",
        "I686",
        tcg_cpu_model="qemu32",
        cdrom_bus="sata",
        disk_buses=_X86_BUSES,
        video_models=_X86_VIDEO,
        input_bus="usb",
        timers=_X86_TIMERS,
        features=("acpi", "apic", "pae"),
        smbios=True,
        vif_models=_X86_VIFS,
        wordsize=32,
        machine_types=_X86_MACHINES,
    ),
    ArchInfo(
        "aarch64",
        "qemu-system-aarch64",
        "virt",
        "AARCH64",
        tcg_cpu_model="cortex-a57",
        uefi_preferred=True,
        kernel_console="ttyAMA0",
        disk_buses=("virtio", "scsi", "usb"),
        video_models=("none", "virtio", "ramfb"),
        input_bus="usb",
        features=("acpi",),
        tables_need_uefi=True,
        smbios=True,
        vif_models=("virtio", "e1000"),
        machine_types=("virt", "virt-X.Y", "sbsa-ref"),
    ),
    ArchInfo(
        "armv7l",
        "qemu-system-arm",
        "virt",
        "ARMV7",
        tcg_cpu_model="cortex-a15",
        kernel_console="ttyAMA0",
        disk_buses=("virtio", "scsi"),
        video_models=("none", "virtio"),
        wordsize=32,
        machine_types=("virt", "virt-X.Y", "vexpress-a9", "vexpress-a15"),
    ),
    ArchInfo(
        "armv6l",
        "qemu-system-arm",
        "versatilepb",
        "ARMV6",
        cpu_supported=False,
        tcg_cpu_mode=None,
        kernel_console="ttyAMA0",
        disk_buses=("scsi",),
        wordsize=32,
        machine_types=("versatilepb", "versatileab", "raspi0", "raspi1ap"),
    ),
    ArchInfo(
        "ppc64le",
        "qemu-system-ppc64le",
        "pseries",
        "PPC64LE",
        natively_runs=("ppc64",),
        tcg_cpu_model="POWER9",
        kernel_console="hvc0",
        disk_buses=("virtio", "scsi"),
        video_models=("none", "virtio", "vga"),
        input_bus="usb",
        vif_models=("virtio", "spapr-vlan"),
        machine_types=_PPC64_MACHINES,
    ),
    ArchInfo(
        "ppc64",
        "qemu-system-ppc64",
        "pseries",
        "PPC64",
        natively_runs=("ppc64le",),
        tcg_cpu_model="POWER9",
        kernel_console="hvc0",
        disk_buses=("virtio", "scsi"),
        video_models=("none", "virtio", "vga"),
        input_bus="usb",
        vif_models=("virtio", "spapr-vlan"),
        machine_types=_PPC64_MACHINES,
    ),
    ArchInfo(
        "s390x",
        "qemu-system-s390x",
        "s390-ccw-virtio",
        "S390X",
        tcg_cpu_mode="maximum",
        console_target="sclp",
        kernel_console="ttysclp0",
        disk_buses=("virtio", "scsi"),
        video_models=("none",),
        machine_types=("s390-ccw-virtio", "s390-ccw-virtio-X.Y"),
    ),
    ArchInfo(
        "riscv64",
        "qemu-system-riscv64",
        "virt",
        "RISCV64",
        cpu_supported=False,
        tcg_cpu_mode=None,
        uefi_preferred=True,
        disk_buses=("virtio", "scsi"),
        video_models=("none", "virtio"),
        machine_types=("virt", "spike", "sifive_u", "microchip-icicle-kit", "shakti_c"),
    ),
    ArchInfo(
        "riscv32",
        "qemu-system-riscv32",
        "virt",
        "RISCV32",
        cpu_supported=False,
        tcg_cpu_mode=None,
        disk_buses=("virtio",),
        cdrom_bus=None,
        wordsize=32,
        machine_types=("virt", "spike", "sifive_u", "sifive_e", "opentitan"),
    ),
    ArchInfo(
        "mipsel",
        "qemu-system-mipsel",
        "malta",
        "MIPSEL",
        cpu_supported=False,
        tcg_cpu_mode=None,
        disk_buses=("virtio", "ide"),
        cdrom_bus="ide",
        wordsize=32,
        machine_types=("malta", "mipssim"),
    ),
    ArchInfo(
        "mips",
        "qemu-system-mips",
        "malta",
        "MIPS",
        cpu_supported=False,
        tcg_cpu_mode=None,
        disk_buses=("virtio", "ide"),
        cdrom_bus="ide",
        wordsize=32,
        machine_types=("malta", "mipssim"),
    ),
    ArchInfo(
        "mips64el",
        "qemu-system-mips64el",
        "malta",
        "MIPS64EL",
        cpu_supported=False,
        tcg_cpu_mode=None,
        disk_buses=("virtio", "ide"),
        cdrom_bus="ide",
        machine_types=(
            "malta",
            "mipssim",
            "boston",
            "fuloong2e",
            "loongson3-virt",
            "magnum",
            "pica61",
        ),
    ),
    ArchInfo(
        "mips64",
        "qemu-system-mips64",
        "malta",
        "MIPS64",
        cpu_supported=False,
        tcg_cpu_mode=None,
        disk_buses=("virtio", "ide"),
        cdrom_bus="ide",
        machine_types=("malta", "mipssim", "magnum", "pica61"),
    ),
)

ARCHES: dict[str, ArchInfo] = {info.name: info for info in _TABLE}
"""Every known architecture by canonical name."""

_ALIASES: dict[str, str] = {
    "amd64": "x86_64",
    "x64": "x86_64",
    "x86-64": "x86_64",
    "i386": "i686",
    "i486": "i686",
    "i586": "i686",
    "x86": "i686",
    "ia32": "i686",
    "arm64": "aarch64",
    "armv8": "aarch64",
    "armv8l": "aarch64",
    "arm": "armv7l",
    "armv7": "armv7l",
    "armhf": "armv7l",
    "armv7hl": "armv7l",
    "armv6": "armv6l",
    "armel": "armv6l",
    "ppc64el": "ppc64le",
    "powerpc64le": "ppc64le",
    "power64le": "ppc64le",
    "powerpc64": "ppc64",
    "s390": "s390x",
    "s390-64": "s390x",
    "riscv": "riscv64",
    "risc-v": "riscv64",
    "mipsle": "mipsel",
    "mips64le": "mips64el",
}


def canonicalize(name: str) -> str:
    """Return the canonical name of ``name`` (case-insensitive, aliases resolved).

    Raises :class:`~virtfleet.errors.InvalidInput` naming the value and the valid set.
    """
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in ARCHES:
        raise errors.InvalidInput(
            f"unknown architecture {name!r}; valid: {', '.join(sorted(ARCHES))}"
        )
    return key


def is_known(name: str) -> bool:
    """Whether ``name`` canonicalises to an architecture in the table."""
    key = name.strip().lower()
    return _ALIASES.get(key, key) in ARCHES


def get(name: str) -> ArchInfo:
    """The table row for ``name`` (any spelling :func:`canonicalize` accepts)."""
    return ARCHES[canonicalize(name)]


def runs_natively(host_arch: str, guest_arch: str) -> bool:
    """Whether a host of ``host_arch`` runs ``guest_arch`` guests without emulation."""
    host = get(host_arch)
    guest = canonicalize(guest_arch)
    return guest == host.name or guest in host.natively_runs


def hw_arch_trait(name: str) -> str | None:
    """``HW_ARCH_*`` trait for ``name``, or None when os-traits has none."""
    return get(name).hw_trait


def compute_arch_trait(name: str) -> str | None:
    """``COMPUTE_ARCH_*`` trait for ``name``, or None when os-traits has none."""
    return get(name).compute_trait


MACHINE_VERSION = "X.Y"
"""Stands for a QEMU version in :attr:`ArchInfo.machine_types` (``virt-X.Y``)."""

_VERSION_PATTERN = r"(?:rhel)?\d+\.\d+(?:\.\d+)?"


@functools.cache
def _machine_pattern(form: str) -> re.Pattern[str]:
    """``pc-q35-X.Y`` -> a regex matching pc-q35-7.2, pc-q35-2.11, pc-q35-rhel9.2.0."""
    return re.compile(re.escape(form).replace(re.escape(MACHINE_VERSION), _VERSION_PATTERN))


def machine_type_known(machine: str, arch_name: str) -> bool:
    """Whether ``machine`` is one of ``arch_name``'s known machine types (by pattern)."""
    return any(_machine_pattern(f).fullmatch(machine) for f in get(arch_name).machine_types)


def check_machine_type(machine: str, arch_name: str | None) -> None:
    """InvalidInput unless ``machine`` is a known machine type of ``arch_name`` (of any
    architecture when None); the message names the value and the valid set."""
    if arch_name is not None:
        row = get(arch_name)
        if not machine_type_known(machine, row.name):
            raise errors.InvalidInput(
                f"unknown machine type {machine!r} for {row.name}; valid: "
                f"{', '.join(row.machine_types)} ({MACHINE_VERSION} is a version, e.g. 7.2)"
            )
        return
    if not any(machine_type_known(machine, name) for name in ARCHES):
        forms = dict.fromkeys(f for row in _TABLE for f in row.machine_types)
        raise errors.InvalidInput(
            f"unknown machine type {machine!r}; valid: {', '.join(forms)} "
            f"({MACHINE_VERSION} is a version, e.g. 7.2)"
        )
