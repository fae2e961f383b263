"""Typed, frozen description of one simulated hypervisor host (a fleet file entry)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from virtfleet.virt.types import NumaCell

# Arches a host of the key arch also runs natively under KVM.
KVM_COMPANIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({"x86_64": ("i686",)})


class Version(NamedTuple):
    """A dotted version; libvirt encodes it as ``major * 1e6 + minor * 1e3 + micro``."""

    major: int
    minor: int
    micro: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """``"9.0.0"`` -> ``Version(9, 0, 0)``; raises ``ValueError`` otherwise."""
        parts = text.split(".")
        if len(parts) != 3 or not all(part.isdigit() for part in parts):
            raise ValueError(text)
        return cls(int(parts[0]), int(parts[1]), int(parts[2]))

    @property
    def encoded(self) -> int:
        return self.major * 1_000_000 + self.minor * 1_000 + self.micro

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.micro}"


DEFAULT_LIBVIRT_VERSION = Version(9, 0, 0)
DEFAULT_QEMU_VERSION = Version(8, 2, 0)


@dataclass(frozen=True)
class MdevType:
    """A mediated device type a GPU offers (``nvidia-222`` ...)."""

    type_id: str
    name: str
    available: int
    device_api: str = "vfio-pci"


@dataclass(frozen=True)
class Gpu:
    """A PCI GPU of the host, optionally offering mdev types."""

    address: str
    mdev_types: tuple[MdevType, ...] = ()
    numa_node: int = 0
    vendor: str = "NVIDIA Corporation"
    product: str = "GPU"

    @property
    def nodedev_name(self) -> str:
        """libvirt's node device name: ``pci_0000_81_00_0``."""
        return "pci_" + self.address.replace(":", "_").replace(".", "_")


@dataclass(frozen=True)
class SliceSpec:
    """One slice: a custom resource class backed by a domain XML template."""

    name: str
    resource_class: str
    template: str | None = None
    template_file: str | None = None
    conflict_parent: str | None = None


@dataclass(frozen=True)
class HostProfile:
    """Everything the simulator needs to impersonate one hypervisor host."""

    name: str
    arch: str
    virt_type: str = "kvm"
    emulators: tuple[str, ...] = ()
    libvirt_version: Version = DEFAULT_LIBVIRT_VERSION
    qemu_version: Version = DEFAULT_QEMU_VERSION
    cpus: int = 16
    numa: tuple[NumaCell, ...] = ()
    memory_mb: int = 65536
    disk_gb: int = 1000
    maxphysaddr_bits: int | None = None
    cpu_mode: str = "host-model"
    cpu_model: str | None = None
    cpu_vendor: str | None = None
    cpu_features: tuple[str, ...] = ()
    gpus: tuple[Gpu, ...] = ()
    slices: tuple[SliceSpec, ...] = ()
    migration_seconds: float = 0.2  # a live migration's memory copy from this host
    # How its guests answer an ACPI power button (virDomainShutdown): "honour" (they
    # power off at once) or "ignore" (they keep running until destroyed).
    guest_acpi: str = "honour"
    # oslo.config overrides by group: plain dicts (callers test isinstance(..., dict)).
    config: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)

    @property
    def kvm_arches(self) -> tuple[str, ...]:
        """Arches that run under KVM here (empty when virt_type is qemu)."""
        if self.virt_type != "kvm":
            return ()
        return (self.arch, *KVM_COMPANIONS.get(self.arch, ()))

    @property
    def guest_arches(self) -> tuple[str, ...]:
        """Every arch this host can run: native ones first, then the emulated ones."""
        native = (self.arch, *KVM_COMPANIONS.get(self.arch, ()))
        return tuple(dict.fromkeys((*native, *self.emulators)))

    def is_native(self, arch: str) -> bool:
        """True when ``arch`` runs without TCG on this host's CPU."""
        return arch == self.arch or arch in KVM_COMPANIONS.get(self.arch, ())
