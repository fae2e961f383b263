"""Mediated devices (vGPUs) as node devices: parents with their types, and mdevs.

Read-only discovery plus the node device XML that creates an mdev; claiming and
lifecycle belong to the callers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import libvirt

from virtfleet.virt.hypervisor import Connection, NodeDevice
from virtfleet.virt.libvirt import config
from virtfleet.virt.libvirt.config.nodedev import MdevType, NodeDevCapability


@dataclass(frozen=True)
class MdevTypeInfo:
    """One mdev type a parent offers, with how many more instances it can create."""

    type_id: str
    name: str | None
    device_api: str | None
    available: int


@dataclass(frozen=True)
class MdevParent:
    """A PCI device (a GPU) that can create mediated devices."""

    device: str  # node device name, e.g. pci_0000_3b_00_0
    pci_address: str  # 0000:3b:00.0
    types: tuple[MdevTypeInfo, ...]


@dataclass(frozen=True)
class MediatedDevice:
    """An existing mediated device."""

    device: str
    uuid: str
    type_id: str
    parent: str | None


def pci_address(cap: NodeDevCapability) -> str:
    """``dddd:bb:ss.f`` of a ``pci`` capability."""
    return f"{cap.domain or 0:04x}:{cap.bus or 0:02x}:{cap.slot or 0:02x}.{cap.function or 0:x}"


def _describe(device: NodeDevice) -> config.NodeDevice:
    return config.NodeDevice.parse(device.XMLDesc(0))


def mdev_parents(conn: Connection, enabled_types: Collection[str] = ()) -> tuple[MdevParent, ...]:
    """Parents offering mdev types (only ``enabled_types`` when given), by PCI address."""
    parents = []
    for device in conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES):
        described = _describe(device)
        pci = described.capability("pci")
        offered = described.capability("mdev_types")
        if pci is None or offered is None:
            continue
        types = tuple(
            MdevTypeInfo(t.id, t.name, t.device_api, t.available_instances or 0)
            for t in offered.types
            if t.id and (not enabled_types or t.id in enabled_types)
        )
        if types:
            parents.append(MdevParent(described.name or device.name(), pci_address(pci), types))
    return tuple(sorted(parents, key=lambda p: p.pci_address))


def mediated_devices(conn: Connection) -> tuple[MediatedDevice, ...]:
    """Every existing mdev, by UUID."""
    found = []
    for device in conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV):
        described = _describe(device)
        cap = described.capability("mdev")
        if cap is None or not cap.uuid or not cap.mdev_type:
            continue
        found.append(
            MediatedDevice(described.name or device.name(), cap.uuid, cap.mdev_type,
                           described.parent)
        )  # fmt: skip
    return tuple(sorted(found, key=lambda m: m.uuid))


def mdev_create_xml(parent: str, type_id: str, uuid: str) -> str:
    """Node device XML for ``nodeDeviceCreateXML``/``nodeDeviceDefineXML`` of one mdev."""
    capability = NodeDevCapability(type="mdev", types=[MdevType(id=type_id)], uuid=uuid)
    return config.NodeDevice(parent=parent, capabilities=[capability]).to_xml()
