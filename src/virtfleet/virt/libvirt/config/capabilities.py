"""Host ``<capabilities>`` and ``<domainCapabilities>`` documents (parsed, not built)."""

# ruff: noqa: RUF009  # attr()/child()/... return dataclasses.field() specs, not values

from __future__ import annotations

from dataclasses import dataclass

from virtfleet.virt.libvirt.config.base import (
    INT,
    Element,
    attr,
    child,
    children,
    text,
    text_child,
    text_children,
)
from virtfleet.virt.libvirt.config.cpu import CpuFeature, CpuTopology, MaxPhysAddr


@dataclass(kw_only=True)
class HostCpu(Element):
    """Host ``<cpu>``: arch, model, vendor, topology, maxphysaddr, features."""

    TAG = "cpu"
    arch: str | None = text_child()
    model: str | None = text_child()
    vendor: str | None = text_child()
    topology: CpuTopology | None = child(CpuTopology)
    maxphysaddr: MaxPhysAddr | None = child(MaxPhysAddr)
    features: list[CpuFeature] = children(CpuFeature)


@dataclass(kw_only=True)
class CellMemory(Element):
    """``<memory unit='KiB'>N</memory>`` of a NUMA cell."""

    TAG = "memory"
    unit: str | None = attr()
    value: int | None = text(codec=INT)


@dataclass(kw_only=True)
class CellCpu(Element):
    """``<cpu id='0' socket_id='0' core_id='0' siblings='0'/>``."""

    TAG = "cpu"
    id: int | None = attr(codec=INT)
    socket_id: int | None = attr("socket_id", codec=INT)
    core_id: int | None = attr("core_id", codec=INT)
    siblings: str | None = attr()


@dataclass(kw_only=True)
class CellCpus(Element):
    """``<cpus num='N'>``."""

    TAG = "cpus"
    num: int | None = attr(codec=INT)
    cpus: list[CellCpu] = children(CellCpu)


@dataclass(kw_only=True)
class Cell(Element):
    """One NUMA ``<cell id='0'>``."""

    TAG = "cell"
    id: int | None = attr(codec=INT)
    memory: CellMemory | None = child(CellMemory)
    cpus: CellCpus | None = child(CellCpus)


@dataclass(kw_only=True)
class Cells(Element):
    """``<cells num='N'>``."""

    TAG = "cells"
    num: int | None = attr(codec=INT)
    cells: list[Cell] = children(Cell)


@dataclass(kw_only=True)
class Topology(Element):
    """Host ``<topology>``."""

    TAG = "topology"
    cells: Cells | None = child(Cells)


@dataclass(kw_only=True)
class Host(Element):
    """``<host>`` of the capabilities."""

    TAG = "host"
    uuid: str | None = text_child()
    cpu: HostCpu | None = child(HostCpu)
    topology: Topology | None = child(Topology)


@dataclass(kw_only=True)
class Machine(Element):
    """``<machine canonical='pc-q35-7.2' maxCpus='288'>q35</machine>``."""

    TAG = "machine"
    canonical: str | None = attr()
    max_cpus: int | None = attr("maxCpus", codec=INT)
    deprecated: str | None = attr()
    name: str | None = text()


@dataclass(kw_only=True)
class GuestDomain(Element):
    """``<domain type='kvm'>``, optionally with its own emulator and machines."""

    TAG = "domain"
    type: str | None = attr()
    emulator: str | None = text_child()
    machines: list[Machine] = children(Machine)


@dataclass(kw_only=True)
class GuestArch(Element):
    """``<arch name='aarch64'>`` of a guest."""

    TAG = "arch"
    name: str | None = attr()
    wordsize: int | None = text_child(codec=INT)
    emulator: str | None = text_child()
    machines: list[Machine] = children(Machine)
    domains: list[GuestDomain] = children(GuestDomain)

    def machine_names(self) -> tuple[str, ...]:
        """Every machine name and canonical name offered for this arch, sorted."""
        names: set[str] = set()
        for machine in [*self.machines, *(m for d in self.domains for m in d.machines)]:
            names.update(n for n in (machine.name, machine.canonical) if n)
        return tuple(sorted(names))

    def domain_types(self) -> tuple[str, ...]:
        """Domain types offered (qemu, kvm)."""
        return tuple(d.type for d in self.domains if d.type)


@dataclass(kw_only=True)
class Guest(Element):
    """``<guest>``: one os type on one arch."""

    TAG = "guest"
    os_type: str | None = text_child()
    arch: GuestArch | None = child(GuestArch)


@dataclass(kw_only=True)
class Capabilities(Element):
    """``virConnectGetCapabilities()``."""

    TAG = "capabilities"
    host: Host | None = child(Host)
    guests: list[Guest] = children(Guest)

    def hvm_guests(self) -> list[GuestArch]:
        """The hvm guest arches (the only os type virtfleet runs)."""
        return [g.arch for g in self.guests if g.os_type == "hvm" and g.arch is not None]


@dataclass(kw_only=True)
class CapsEnum(Element):
    """``<enum name='bus'><value>virtio</value>...</enum>``."""

    TAG = "enum"
    name: str | None = attr()
    values: list[str] = text_children("value")


@dataclass(kw_only=True)
class SupportedWithEnums(Element):
    """Any ``<x supported='yes'>`` element holding enums (disk, video, loader...)."""

    TAG = "device"
    supported: str | None = attr()
    enums: list[CapsEnum] = children(CapsEnum)

    def values(self, enum_name: str) -> tuple[str, ...]:
        """Values of the named enum, empty when unsupported or absent."""
        if self.supported == "no":
            return ()
        for item in self.enums:
            if item.name == enum_name:
                return tuple(item.values)
        return ()


@dataclass(kw_only=True)
class DomCapsOs(Element):
    """``<os supported='yes'>`` with its firmware enum and loader."""

    TAG = "os"
    supported: str | None = attr()
    enums: list[CapsEnum] = children(CapsEnum)
    loader: SupportedWithEnums | None = child(SupportedWithEnums, name="loader")

    def firmwares(self) -> tuple[str, ...]:
        """Firmware kinds libvirt can select automatically (e.g. efi)."""
        return next((tuple(e.values) for e in self.enums if e.name == "firmware"), ())


@dataclass(kw_only=True)
class CpuModeCaps(Element):
    """``<mode name='host-model' supported='yes'>``."""

    TAG = "mode"
    name: str | None = attr()
    supported: str | None = attr()


@dataclass(kw_only=True)
class DomCapsCpu(Element):
    """``<cpu>`` of the domain capabilities."""

    TAG = "cpu"
    modes: list[CpuModeCaps] = children(CpuModeCaps)

    def supported_modes(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.modes if m.name and m.supported == "yes")


@dataclass(kw_only=True)
class DomCapsDevices(Element):
    """``<devices>`` of the domain capabilities."""

    TAG = "devices"
    disk: SupportedWithEnums | None = child(SupportedWithEnums, name="disk")
    graphics: SupportedWithEnums | None = child(SupportedWithEnums, name="graphics")
    video: SupportedWithEnums | None = child(SupportedWithEnums, name="video")
    hostdev: SupportedWithEnums | None = child(SupportedWithEnums, name="hostdev")
    rng: SupportedWithEnums | None = child(SupportedWithEnums, name="rng")


@dataclass(kw_only=True)
class DomainCapabilities(Element):
    """``virConnectGetDomainCapabilities()`` for one emulator/arch/machine/type."""

    TAG = "domainCapabilities"
    path: str | None = text_child()
    domain: str | None = text_child()
    machine: str | None = text_child()
    arch: str | None = text_child()
    os: DomCapsOs | None = child(DomCapsOs)
    cpu: DomCapsCpu | None = child(DomCapsCpu)
    devices: DomCapsDevices | None = child(DomCapsDevices)
