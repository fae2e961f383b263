"""Host discovery: what one hypervisor is and can run, as a :class:`HostInfo`."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

import libvirt
from oslo_config import cfg

from virtfleet.virt import arch
from virtfleet.virt.hypervisor import Connection
from virtfleet.virt.libvirt import config, kvm_probe
from virtfleet.virt.libvirt.traits import TraitFacts, host_traits
from virtfleet.virt.types import HostInfo, NumaCell

LOG = logging.getLogger(__name__)

GiB = 1024**3
DEFAULT_CPU_MODE = {"kvm": "host-model", "qemu": "custom"}
"""CPU mode for native guests when ``[libvirt] cpu_mode`` is unset, by virt_type."""


@dataclass(frozen=True)
class GuestOffer:
    """One runnable arch as the capabilities describe it."""

    arch: str
    emulator: str
    machines: tuple[str, ...]
    domain_types: tuple[str, ...]


def instances_path(conf: cfg.ConfigOpts) -> str:
    """``[libvirt] instances_path``, else ``<data_dir>/instances`` (absolute)."""
    return os.path.abspath(conf.libvirt.instances_path or os.path.join(conf.data_dir, "instances"))


def guest_offers(caps: config.Capabilities) -> dict[str, GuestOffer]:
    """The hvm guests of known arches, by canonical arch (unknown arches are skipped)."""
    offers: dict[str, GuestOffer] = {}
    for guest in caps.hvm_guests():
        if not guest.name or not arch.is_known(guest.name):
            continue
        name = arch.canonicalize(guest.name)
        offers[name] = GuestOffer(
            arch=name,
            emulator=guest.emulator or "",
            machines=guest.machine_names(),
            domain_types=guest.domain_types(),
        )
    return offers


def numa_cells(caps: config.Capabilities) -> tuple[NumaCell, ...]:
    """NUMA cells of the host topology (memory in MiB)."""
    topology = caps.host.topology if caps.host else None
    cells = topology.cells.cells if topology and topology.cells else []
    return tuple(
        NumaCell(
            id=cell.id or 0,
            cpus=tuple(c.id for c in (cell.cpus.cpus if cell.cpus else []) if c.id is not None),
            memory_mb=(cell.memory.value or 0) // 1024 if cell.memory else 0,
        )
        for cell in cells
    )


def domain_capabilities(
    conn: Connection, offer: GuestOffer, virt_type: str
) -> config.DomainCapabilities | None:
    """``getDomainCapabilities`` for an arch's default machine, None when unavailable."""
    if not hasattr(conn, "getDomainCapabilities"):
        return None
    default_machine = arch.get(offer.arch).machine
    machine = default_machine if default_machine in offer.machines else None
    try:
        xml = conn.getDomainCapabilities(offer.emulator, offer.arch, machine, virt_type, 0)
    except libvirt.libvirtError as exc:
        LOG.info("no domain capabilities for %s: %s", offer.arch, exc)
        return None
    return config.DomainCapabilities.parse(xml)


def disk_gb(conn: Connection, conf: cfg.ConfigOpts) -> int:
    """Simulated disk when the connection has one, else free GiB under instances_path."""
    if hasattr(conn, "getSimDiskGB"):
        return int(conn.getSimDiskGB())
    path = instances_path(conf)
    while not os.path.exists(path):
        path = os.path.dirname(path) or "."
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize // GiB


def kvm_problem(conn: Connection, conf: cfg.ConfigOpts) -> str | None:
    """Why KVM, configured (``[libvirt] virt_type = kvm``) and offered for the host's
    architecture, cannot run a guest here; None when it can or is not in play."""
    if conf.libvirt.virt_type != "kvm":
        return None
    caps = config.Capabilities.parse(conn.getCapabilities())
    host_cpu = caps.host.cpu if caps.host and caps.host.cpu else config.capabilities.HostCpu()
    offer = guest_offers(caps).get(arch.canonicalize(host_cpu.arch or ""))
    if offer is None or "kvm" not in offer.domain_types:
        return None
    default_machine = arch.get(offer.arch).machine
    machine = default_machine if default_machine in offer.machines else None
    cpu_mode = conf.libvirt.cpu_mode or DEFAULT_CPU_MODE["kvm"]
    return kvm_probe.kvm_problem(
        conn, kvm_probe.probe_xml(offer.arch, offer.emulator, machine, cpu_mode)
    )


def discover(conn: Connection, conf: cfg.ConfigOpts, kvm_usable: bool = True) -> HostInfo:
    """Ask the connection what the host is and can run; ``kvm_usable`` False (see
    :func:`kvm_problem`) runs every guest under TCG, whatever ``virt_type`` says."""
    caps = config.Capabilities.parse(conn.getCapabilities())
    host_cpu = caps.host.cpu if caps.host and caps.host.cpu else config.capabilities.HostCpu()
    host_arch = arch.canonicalize(host_cpu.arch or "")
    virt_type: str = conf.libvirt.virt_type if kvm_usable else "qemu"
    offers = guest_offers(caps)
    native = tuple(sorted(a for a in offers if arch.runs_natively(host_arch, a)))
    emulated = tuple(sorted(a for a in offers if a not in native))
    kvm_arches = tuple(
        sorted(a for a, o in offers.items() if "kvm" in o.domain_types and kvm_usable)
    )
    domcaps = _probe_domain_capabilities(conn, offers, host_arch, virt_type, kvm_arches)
    host_caps = domcaps.get(host_arch)
    uefi_arches = tuple(
        sorted(a for a, dc in domcaps.items() if dc.os and "efi" in dc.os.firmwares())
    )
    disk_buses, video_models = _device_models(host_arch, host_caps)
    cpu_mode = (conf.libvirt.cpu_mode if kvm_usable else None) or DEFAULT_CPU_MODE[virt_type]
    info = conn.getInfo()
    hypervisor_type = str(conn.getType())
    libvirt_version = int(conn.getLibVersion())
    qemu_version = int(conn.getVersion())
    traits = host_traits(
        TraitFacts(
            host_arch=host_arch,
            runnable_arches=tuple(offers),
            native_arches=native,
            hypervisor_type=hypervisor_type,
            libvirt_version=libvirt_version,
            qemu_version=qemu_version,
            cpu_mode=cpu_mode,
            virt_type=virt_type,
            disk_buses=disk_buses,
            video_models=video_models,
            vif_models=arch.get(host_arch).vif_models,
            bios=host_arch in ("x86_64", "i686"),
            uefi=host_arch in uefi_arches,
        )
    )
    maxphysaddr = host_cpu.maxphysaddr
    return HostInfo(
        hostname=conf.host or str(conn.getHostname()),
        arch=host_arch,
        vcpus=int(info[2]),
        memory_mb=int(info[1]),
        disk_gb=disk_gb(conn, conf),
        numa_cells=numa_cells(caps),
        libvirt_version=libvirt_version,
        qemu_version=qemu_version,
        hypervisor_type=hypervisor_type,
        cpu_model=host_cpu.model,
        cpu_vendor=host_cpu.vendor,
        virt_type=virt_type,
        cpu_mode=cpu_mode,
        cpu_models=tuple(conf.libvirt.cpu_models),
        maxphysaddr_bits=maxphysaddr.bits if maxphysaddr else None,
        native_arches=native,
        emulated_arches=emulated,
        kvm_arches=kvm_arches,
        machine_types={a: o.machines for a, o in sorted(offers.items())},
        emulators={a: o.emulator for a, o in sorted(offers.items())},
        uefi_arches=uefi_arches,
        traits=traits,
    )


def _probe_domain_capabilities(
    conn: Connection,
    offers: Mapping[str, GuestOffer],
    host_arch: str,
    virt_type: str,
    kvm_arches: tuple[str, ...],
) -> dict[str, config.DomainCapabilities]:
    """Domain capabilities of every emulator the host offers (its firmware, and for the
    host arch its device models); arches whose probe fails are left out."""
    result: dict[str, config.DomainCapabilities] = {}
    for name in offers:
        domain_type = "kvm" if virt_type == "kvm" and name in kvm_arches else "qemu"
        found = domain_capabilities(conn, offers[name], domain_type)
        if found is not None:
            result[name] = found
    return result


def _device_models(
    host_arch: str, caps: config.DomainCapabilities | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Disk buses and video models: from domain capabilities, else the arch table."""
    row = arch.get(host_arch)
    devices = caps.devices if caps else None
    disk = devices.disk.values("bus") if devices and devices.disk else ()
    video = devices.video.values("modelType") if devices and devices.video else ()
    return (disk or row.disk_buses, video or row.video_models)
