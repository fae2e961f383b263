"""What a rendered slice holds of its host (CPUs, NUMA cells, PCI devices), and the
host facts the holdings are checked against."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libvirt
from lxml import etree

from virtfleet.errors import ConfigError
from virtfleet.virt.hypervisor import Connection
from virtfleet.virt.libvirt import config
from virtfleet.virt.libvirt.mdev import pci_address
from virtfleet.virt.types import HostInfo

#: Where a domain names host CPUs: (XPath of the elements, attribute).
CPU_REFERENCES = (
    ("vcpu", "cpuset"),
    ("cputune/vcpupin", "cpuset"),
    ("cputune/emulatorpin", "cpuset"),
    ("cputune/iothreadpin", "cpuset"),
)
#: Where a domain names host NUMA cells.
NODE_REFERENCES = (
    ("numatune/memory", "nodeset"),
    ("numatune/memnode", "nodeset"),
)
PCI_HOSTDEV_ADDRESS = "devices/hostdev[@type='pci']/source/address"


@dataclass(frozen=True)
class Holdings:
    """Host CPUs, NUMA cells and PCI addresses (``dddd:bb:ss.f``) a slice names."""

    cpus: frozenset[int]
    numa_cells: frozenset[int]
    pci_devices: frozenset[str]

    def describe(self) -> str:
        """``cpus 4-10, cells 0, pci 0000:1a:00.0`` (empty parts left out)."""
        parts = []
        if self.cpus:
            parts.append(f"cpus {format_cpuset(self.cpus)}")
        if self.numa_cells:
            parts.append(f"cells {format_cpuset(self.numa_cells)}")
        if self.pci_devices:
            parts.append("pci " + " ".join(sorted(self.pci_devices)))
        return ", ".join(parts) or "nothing pinned"


@dataclass(frozen=True)
class HostFacts:
    """What a host has for slices to name."""

    cpus: frozenset[int]
    numa_cells: frozenset[int]
    pci_devices: frozenset[str]


def parse_cpuset(label: str, text: str) -> frozenset[int]:
    """libvirt's set syntax: ``0-3,8,^2``. ConfigError naming ``label`` when malformed."""
    included: set[int] = set()
    excluded: set[int] = set()
    for raw in text.split(","):
        part = raw.strip()
        target = excluded if part.startswith("^") else included
        part = part.lstrip("^")
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                if low > high:
                    raise ValueError
                target.update(range(low, high + 1))
            else:
                target.add(int(part))
        except ValueError:
            raise ConfigError(f"{label}: invalid CPU/cell set {text!r}") from None
    return frozenset(included - excluded)


def format_cpuset(values: Iterable[int]) -> str:
    """``{0,1,2,5}`` -> ``0-2,5``."""
    ordered = sorted(values)
    ranges: list[str] = []
    start = prev = None
    for value in [*ordered, None]:
        if value is not None and prev is not None and value == prev + 1:
            prev = value
            continue
        if start is not None:
            ranges.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = value
    return ",".join(ranges)


def holdings_of(label: str, domain: etree._Element) -> Holdings:
    """What the rendered ``domain`` pins or passes through."""
    cpus: set[int] = set()
    for path, attribute in CPU_REFERENCES:
        for element in domain.findall(path):
            value = element.get(attribute)
            if value:
                cpus |= parse_cpuset(f"{label}: <{element.tag} {attribute}>", value)
    cells: set[int] = set()
    for path, attribute in NODE_REFERENCES:
        for element in domain.findall(path):
            value = element.get(attribute)
            if value:
                cells |= parse_cpuset(f"{label}: <{element.tag} {attribute}>", value)
    devices = {_pci(label, address) for address in domain.findall(PCI_HOSTDEV_ADDRESS)}
    return Holdings(frozenset(cpus), frozenset(cells), frozenset(devices))


def _pci(label: str, address: etree._Element) -> str:
    try:
        numbers = [int(address.get(k, "0"), 0) for k in ("domain", "bus", "slot", "function")]
    except ValueError:
        shown = etree.tostring(address, encoding="unicode", with_tail=False)
        raise ConfigError(f"{label}: hostdev address {shown} is not numeric") from None
    domain, bus, slot, function = numbers
    return f"{domain:04x}:{bus:02x}:{slot:02x}.{function:x}"


def host_facts(conn: Connection, info: HostInfo) -> HostFacts:
    """CPUs and cells from discovery, PCI devices from the node device list."""
    if info.numa_cells:
        cpus = frozenset(cpu for cell in info.numa_cells for cpu in cell.cpus)
        cells = frozenset(cell.id for cell in info.numa_cells)
    else:
        cpus, cells = frozenset(range(info.vcpus)), frozenset({0})
    devices: set[str] = set()
    for device in conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV):
        cap = config.NodeDevice.parse(device.XMLDesc(0)).capability("pci")
        if cap is not None:
            devices.add(pci_address(cap))
    return HostFacts(cpus, cells, frozenset(devices))


def check_on_host(label: str, held: Holdings, host: HostFacts) -> None:
    """ConfigError naming ``label`` and what is missing when the host lacks anything."""
    missing_cpus = held.cpus - host.cpus
    if missing_cpus:
        raise ConfigError(
            f"{label}: pins host CPUs {format_cpuset(missing_cpus)} the host does not have "
            f"(host CPUs {format_cpuset(host.cpus)})"
        )
    missing_cells = held.numa_cells - host.numa_cells
    if missing_cells:
        raise ConfigError(
            f"{label}: names NUMA cells {format_cpuset(missing_cells)} the host does not have "
            f"(host cells {format_cpuset(host.numa_cells)})"
        )
    missing_devices = held.pci_devices - host.pci_devices
    if missing_devices:
        raise ConfigError(
            f"{label}: passes through PCI devices {' '.join(sorted(missing_devices))} "
            "the host does not have"
        )
