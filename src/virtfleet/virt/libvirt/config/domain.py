"""The ``<domain>`` element and its direct parts other than os, cpu and devices."""

# ruff: noqa: RUF009  # attr()/child()/... return dataclasses.field() specs, not values

from __future__ import annotations

from dataclasses import dataclass

from virtfleet.virt.libvirt.config.base import (
    INT,
    YESNO,
    Element,
    attr,
    child,
    children,
    flag,
    text,
    text_child,
)
from virtfleet.virt.libvirt.config.cpu import Cpu
from virtfleet.virt.libvirt.config.devices import Devices
from virtfleet.virt.libvirt.config.os import Os

METADATA_NS = "http://virtfleet.dev/xmlns/instance/1.0"
"""Namespace of virtfleet's own ``<metadata>`` content."""


@dataclass(kw_only=True)
class MetaItem(Element):
    """``<vf:meta key='k'>v</vf:meta>``: one user metadata pair."""

    TAG = f"{{{METADATA_NS}}}meta"
    key: str | None = attr()
    value: str | None = text()


@dataclass(kw_only=True)
class InstanceMetadata(Element):
    """``<vf:instance>`` inside ``<metadata>``: who this domain is to virtfleet."""

    TAG = f"{{{METADATA_NS}}}instance"
    NAMESPACE = METADATA_NS
    NSMAP = {"vf": METADATA_NS}
    uuid: str | None = text_child()
    name: str | None = text_child()
    flavor: str | None = text_child()
    image: str | None = text_child()
    created: str | None = text_child()
    instance_dir: str | None = text_child("instance-dir")
    console_log: str | None = text_child("console-log")
    items: list[MetaItem] = children(MetaItem)


@dataclass(kw_only=True)
class Metadata(Element):
    """``<metadata>``; only virtfleet's namespace is modelled."""

    TAG = "metadata"
    instance: InstanceMetadata | None = child(InstanceMetadata)


@dataclass(kw_only=True)
class Memory(Element):
    """``<memory unit='KiB'>N</memory>`` (also ``<currentMemory>``)."""

    TAG = "memory"
    unit: str | None = attr(default="KiB")
    value: int | None = text(codec=INT)


@dataclass(kw_only=True)
class Vcpu(Element):
    """``<vcpu placement='static' cpuset='0-3'>N</vcpu>``."""

    TAG = "vcpu"
    placement: str | None = attr()
    cpuset: str | None = attr()
    count: int | None = text(codec=INT)


@dataclass(kw_only=True)
class VcpuPin(Element):
    """``<vcpupin vcpu='0' cpuset='2'/>``."""

    TAG = "vcpupin"
    vcpu: int | None = attr(codec=INT)
    cpuset: str | None = attr()


@dataclass(kw_only=True)
class CpuTune(Element):
    """``<cputune>``."""

    TAG = "cputune"
    vcpupins: list[VcpuPin] = children(VcpuPin)


@dataclass(kw_only=True)
class NumaMemory(Element):
    """``<memory mode='strict' nodeset='0'/>`` inside ``<numatune>``."""

    TAG = "memory"
    mode: str | None = attr()
    nodeset: str | None = attr()


@dataclass(kw_only=True)
class NumaTune(Element):
    """``<numatune>``."""

    TAG = "numatune"
    memory: NumaMemory | None = child(NumaMemory)


@dataclass(kw_only=True)
class SysinfoEntry(Element):
    """``<entry name='manufacturer'>virtfleet</entry>``."""

    TAG = "entry"
    name: str | None = attr()
    value: str | None = text()


@dataclass(kw_only=True)
class SysinfoSystem(Element):
    """``<system>`` of an SMBIOS sysinfo."""

    TAG = "system"
    entries: list[SysinfoEntry] = children(SysinfoEntry)


@dataclass(kw_only=True)
class Sysinfo(Element):
    """``<sysinfo type='smbios'>``."""

    TAG = "sysinfo"
    type: str | None = attr()
    system: SysinfoSystem | None = child(SysinfoSystem)


@dataclass(kw_only=True)
class Gic(Element):
    """``<gic version='3'/>`` (aarch64)."""

    TAG = "gic"
    version: str | None = attr()


@dataclass(kw_only=True)
class Features(Element):
    """``<features>``."""

    TAG = "features"
    acpi: bool = flag()
    apic: bool = flag()
    pae: bool = flag()
    gic: Gic | None = child(Gic)


@dataclass(kw_only=True)
class Timer(Element):
    """``<timer name='rtc' tickpolicy='catchup' present='no'/>``."""

    TAG = "timer"
    name: str | None = attr()
    tickpolicy: str | None = attr()
    present: bool | None = attr(codec=YESNO)


@dataclass(kw_only=True)
class Clock(Element):
    """``<clock offset='utc'>``."""

    TAG = "clock"
    offset: str | None = attr()
    timers: list[Timer] = children(Timer)


@dataclass(kw_only=True)
class Domain(Element):
    """``<domain type='kvm|qemu'>``: children in libvirt's own order."""

    TAG = "domain"
    type: str | None = attr()
    id: int | None = attr(codec=INT)
    name: str | None = text_child()
    uuid: str | None = text_child()
    metadata: Metadata | None = child(Metadata)
    memory: Memory | None = child(Memory)
    current_memory: Memory | None = child(Memory, name="currentMemory")
    vcpu: Vcpu | None = child(Vcpu)
    cputune: CpuTune | None = child(CpuTune)
    numatune: NumaTune | None = child(NumaTune)
    sysinfo: Sysinfo | None = child(Sysinfo)
    os: Os | None = child(Os)
    features: Features | None = child(Features)
    cpu: Cpu | None = child(Cpu)
    clock: Clock | None = child(Clock)
    on_poweroff: str | None = text_child()
    on_reboot: str | None = text_child()
    on_crash: str | None = text_child()
    devices: Devices | None = child(Devices)

    @property
    def instance(self) -> InstanceMetadata | None:
        """virtfleet's metadata, when this domain carries it."""
        return self.metadata.instance if self.metadata else None
