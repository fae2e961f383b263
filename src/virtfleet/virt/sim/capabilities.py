"""Capabilities and domain capabilities XML of a simulated host.

Shapes follow what libvirt 9.0 reports on qemu:///system (see
``data/sim/domcaps/*.xml``, captured from real libvirt): ``<host><cpu>`` with arch,
model, vendor, topology and (x86, when known) ``<maxphysaddr>``; NUMA cells; one
``<guest>`` per arch with its emulator, machines (aliases carry ``canonical``) and
domain types (``kvm`` only for arches the host runs natively under KVM).
"""

from __future__ import annotations

import copy
import functools
import uuid as uuid_module
from importlib import resources

import libvirt
from lxml import etree

from virtfleet.virt.sim import machines
from virtfleet.virt.sim.errors import libvirt_error
from virtfleet.virt.sim.profile import HostProfile

_NAMESPACE = uuid_module.UUID("6f1c1f9e-58b4-4e0c-9a0d-8a4a6e1f3c21")
PAGE_SIZES_KIB = (4, 2048, 1048576)
_GUEST_FEATURES = {
    "x86_64": ("acpi", "apic", "cpuselection", "deviceboot", "disksnapshot"),
    "i686": ("pae", "nonpae", "acpi", "apic", "cpuselection", "deviceboot", "disksnapshot"),
}
BUILTIN_IDE_MACHINES = ("pc-i440fx-", "isapc", "malta", "g3beige", "mac99", "magnum", "pica61")
"""Canonical machine name prefixes with a built-in IDE bus (libvirt offers bus ``ide``
in their domain capabilities; q35, virt, pseries, s390-ccw-virtio have none)."""
_DEFAULT_GUEST_FEATURES = ("cpuselection", "deviceboot", "disksnapshot")
_TOGGLES = {
    "acpi": ("on", "yes"),
    "apic": ("on", "no"),
    "pae": None,
    "nonpae": None,
    "disksnapshot": ("on", "no"),
}


def host_uuid(name: str) -> str:
    """A stable host UUID derived from the host name."""
    return str(uuid_module.uuid5(_NAMESPACE, name))


def capabilities_xml(profile: HostProfile) -> str:
    """``virConnectGetCapabilities()`` for ``profile``."""
    root = etree.Element("capabilities")
    root.append(_host(profile))
    for arch in profile.guest_arches:
        kvm = arch in profile.kvm_arches
        root.append(copy.deepcopy(_guest(arch, profile.qemu_version[:2], kvm)))
    return etree.tostring(root, encoding="unicode", pretty_print=True)


def _host(profile: HostProfile) -> etree._Element:
    host = etree.Element("host")
    etree.SubElement(host, "uuid").text = host_uuid(profile.name)
    cpu = etree.SubElement(host, "cpu")
    etree.SubElement(cpu, "arch").text = profile.arch
    if profile.cpu_model:
        etree.SubElement(cpu, "model").text = profile.cpu_model
    if profile.cpu_vendor:
        etree.SubElement(cpu, "vendor").text = profile.cpu_vendor
    cores = len(profile.numa[0].cpus)
    etree.SubElement(
        cpu, "topology", sockets=str(len(profile.numa)), dies="1", cores=str(cores), threads="1"
    )
    if profile.maxphysaddr_bits is not None:
        etree.SubElement(cpu, "maxphysaddr", mode="emulate", bits=str(profile.maxphysaddr_bits))
    for feature in profile.cpu_features:
        etree.SubElement(cpu, "feature", name=feature)
    for size in PAGE_SIZES_KIB:
        etree.SubElement(cpu, "pages", unit="KiB", size=str(size))
    etree.SubElement(host, "power_management")
    etree.SubElement(host, "iommu", support="yes" if profile.gpus else "no")
    migration = etree.SubElement(host, "migration_features")
    etree.SubElement(migration, "live")
    transports = etree.SubElement(migration, "uri_transports")
    etree.SubElement(transports, "uri_transport").text = "tcp"
    etree.SubElement(transports, "uri_transport").text = "rdma"
    topology = etree.SubElement(host, "topology")
    cells = etree.SubElement(topology, "cells", num=str(len(profile.numa)))
    for cell in profile.numa:
        element = etree.SubElement(cells, "cell", id=str(cell.id))
        etree.SubElement(element, "memory", unit="KiB").text = str(cell.memory_mb * 1024)
        etree.SubElement(element, "pages", unit="KiB", size="4").text = str(cell.memory_mb * 256)
        for size in PAGE_SIZES_KIB[1:]:
            etree.SubElement(element, "pages", unit="KiB", size=str(size)).text = "0"
        distances = etree.SubElement(element, "distances")
        for other in profile.numa:
            value = "10" if other.id == cell.id else "21"
            etree.SubElement(distances, "sibling", id=str(other.id), value=value)
        cpus = etree.SubElement(element, "cpus", num=str(len(cell.cpus)))
        for core, cpu_id in enumerate(cell.cpus):
            etree.SubElement(
                cpus,
                "cpu",
                id=str(cpu_id),
                socket_id=str(cell.id),
                die_id="0",
                core_id=str(core),
                siblings=str(cpu_id),
            )
    for model, doi in (("none", "0"), ("dac", "0")):
        secmodel = etree.SubElement(host, "secmodel")
        etree.SubElement(secmodel, "model").text = model
        etree.SubElement(secmodel, "doi").text = doi
        if model == "dac":
            for domain_type in ("kvm", "qemu"):
                etree.SubElement(secmodel, "baselabel", type=domain_type).text = "+0:+0"
    return host


@functools.cache
def _guest(arch: str, qemu_version: tuple[int, int], kvm: bool) -> etree._Element:
    """One ``<guest>`` element (cached: big fleets share a few kinds; callers copy it)."""
    info = machines.arch_info(arch, qemu_version)
    guest = etree.Element("guest")
    etree.SubElement(guest, "os_type").text = "hvm"
    arch_element = etree.SubElement(guest, "arch", name=arch)
    etree.SubElement(arch_element, "wordsize").text = str(info.wordsize)
    etree.SubElement(arch_element, "emulator").text = info.emulator
    for machine in info.machines:
        attributes = {"maxCpus": str(machine.max_cpus)}
        if machine.deprecated:
            attributes["deprecated"] = "yes"
        if machine.canonical:
            attributes = {"canonical": machine.canonical, **attributes}
        etree.SubElement(arch_element, "machine", attributes).text = machine.name
    etree.SubElement(arch_element, "domain", type="qemu")
    if kvm:
        etree.SubElement(arch_element, "domain", type="kvm")
    features = etree.SubElement(guest, "features")
    for name in _GUEST_FEATURES.get(arch, _DEFAULT_GUEST_FEATURES):
        toggle = _TOGGLES.get(name)
        if toggle:
            etree.SubElement(features, name, default=toggle[0], toggle=toggle[1])
        else:
            etree.SubElement(features, name)
    return guest


@functools.cache
def _domcaps_template(arch: str) -> bytes | None:
    path = resources.files("virtfleet").joinpath(f"data/sim/domcaps/{arch}.xml")
    return path.read_bytes() if path.is_file() else None


@functools.cache
def firmwares(arch: str) -> frozenset[str]:
    """Firmware kinds (``efi``) the host has for guests of ``arch`` (domcaps' enum)."""
    template = _domcaps_template(arch)
    if template is None:
        return frozenset()
    root = etree.fromstring(template)
    return frozenset(str(v.text) for v in root.iterfind("os/enum[@name='firmware']/value"))


def domain_capabilities_xml(
    profile: HostProfile,
    emulator: str | None,
    arch: str | None,
    machine: str | None,
    virttype: str | None,
) -> str:
    """``virConnectGetDomainCapabilities()``; raises like libvirt for bad arguments."""
    arch = arch or profile.arch
    if emulator is not None:
        owner = next(
            (
                a
                for a in profile.guest_arches
                if machines.arch_info(a, profile.qemu_version[:2]).emulator == emulator
            ),
            None,
        )
        if owner is None:
            raise libvirt_error(
                libvirt.VIR_ERR_INVALID_ARG, f"unable to find any emulator to serve '{emulator}'"
            )
    if arch not in profile.guest_arches:
        raise libvirt_error(
            libvirt.VIR_ERR_INVALID_ARG,
            f"unable to find any emulator to serve '{arch}' architecture",
        )
    info = machines.arch_info(arch, profile.qemu_version[:2])
    virttype = virttype or ("kvm" if arch in profile.kvm_arches else "qemu")
    if virttype not in ("qemu", "kvm") or (virttype == "kvm" and arch not in profile.kvm_arches):
        raise libvirt_error(
            libvirt.VIR_ERR_INVALID_ARG,
            f"KVM is not supported by '{info.emulator}' on this host"
            if virttype == "kvm"
            else f"unknown virttype: {virttype}",
        )
    from virtfleet.virt.sim.domxml import DEFAULT_MACHINE

    requested = machine or DEFAULT_MACHINE.get(arch) or info.machines[0].name
    found = info.machine(requested)
    if found is None:
        raise libvirt_error(
            libvirt.VIR_ERR_INVALID_ARG,
            f"the machine '{requested}' is not supported by emulator '{info.emulator}'",
        )
    root = _base_domcaps(arch)
    _set_text(root, "path", info.emulator)
    _set_text(root, "domain", virttype)
    _set_text(root, "machine", info.canonical_name(requested))
    _set_text(root, "arch", arch)
    vcpu = root.find("vcpu")
    if vcpu is not None:
        vcpu.set("max", str(found.max_cpus))
    _adjust_cpu_modes(root, profile, arch, virttype)
    _adjust_disk_buses(root, info.canonical_name(requested))
    return etree.tostring(root, encoding="unicode", pretty_print=True)


def has_builtin_ide(canonical_machine: str) -> bool:
    """Whether libvirt offers disk bus ``ide`` on this machine (it has an IDE bus)."""
    return canonical_machine.startswith(BUILTIN_IDE_MACHINES)


def _adjust_disk_buses(root: etree._Element, canonical_machine: str) -> None:
    """The templates were captured on machines with IDE; drop it where there is none."""
    if has_builtin_ide(canonical_machine):
        return
    buses = root.find("devices/disk/enum[@name='bus']")
    if buses is None:
        return
    for value in buses.findall("value"):
        if value.text == "ide":
            buses.remove(value)


def _base_domcaps(arch: str) -> etree._Element:
    template = _domcaps_template(arch)
    if template is None:
        root = etree.Element("domainCapabilities")
        for tag in ("path", "domain", "machine", "arch"):
            etree.SubElement(root, tag)
        etree.SubElement(root, "vcpu", max="1")
        etree.SubElement(root, "os", supported="yes")
        etree.SubElement(root, "cpu")
        etree.SubElement(root, "devices")
        etree.SubElement(root, "features")
        return root
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.fromstring(template, parser)


def _set_text(root: etree._Element, tag: str, text: str) -> None:
    element = root.find(tag)
    if element is None:
        element = etree.SubElement(root, tag)
    element.text = text


def _adjust_cpu_modes(root: etree._Element, profile: HostProfile, arch: str, virttype: str) -> None:
    cpu = root.find("cpu")
    if cpu is None:
        return
    native = profile.is_native(arch)
    for mode in cpu.findall("mode"):
        name = mode.get("name")
        if name == "host-passthrough":
            mode.set("supported", "yes" if virttype == "kvm" else "no")
        elif name == "host-model":
            supported = native and (virttype == "kvm" or arch in ("x86_64", "i686"))
            mode.set("supported", "yes" if supported else "no")
            if supported and profile.cpu_model:
                for child in list(mode):
                    mode.remove(child)
                etree.SubElement(mode, "model", fallback="forbid").text = profile.cpu_model
                if profile.cpu_vendor:
                    etree.SubElement(mode, "vendor").text = profile.cpu_vendor
            elif not supported:
                for child in list(mode):
                    mode.remove(child)
