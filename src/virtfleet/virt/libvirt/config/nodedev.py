"""Node device XML (``virNodeDevice.XMLDesc``): PCI parents with mdev types, and mdevs."""

# ruff: noqa: RUF009  # attr()/child()/... return dataclasses.field() specs, not values

from __future__ import annotations

from dataclasses import dataclass

from virtfleet.virt.libvirt.config.base import (
    INT,
    Element,
    attr,
    child,
    children,
    same_class_children,
    text,
    text_child,
)
from virtfleet.virt.libvirt.config.devices import Address


@dataclass(kw_only=True)
class MdevType(Element):
    """``<type id='nvidia-222'>`` with name, device API and free instances."""

    TAG = "type"
    id: str | None = attr()
    name: str | None = text_child()
    device_api: str | None = text_child("deviceAPI")
    available_instances: int | None = text_child("availableInstances", codec=INT)


@dataclass(kw_only=True)
class IdName(Element):
    """``<vendor id='0x10de'>NVIDIA</vendor>`` / ``<product ...>``."""

    TAG = "vendor"
    id: str | None = attr()
    name: str | None = text()


@dataclass(kw_only=True)
class IommuGroup(Element):
    """``<iommuGroup number='13'>``."""

    TAG = "iommuGroup"
    number: int | None = attr(codec=INT)
    addresses: list[Address] = children(Address)


@dataclass(kw_only=True)
class NodeDevCapability(Element):
    """``<capability type='pci|mdev_types|mdev|...'>``; fields by type, others None."""

    TAG = "capability"
    type: str | None = attr()
    pci_class: str | None = text_child("class")
    domain: int | None = text_child(codec=INT)
    bus: int | None = text_child(codec=INT)
    slot: int | None = text_child(codec=INT)
    function: int | None = text_child(codec=INT)
    product: IdName | None = child(IdName, name="product")
    vendor: IdName | None = child(IdName, name="vendor")
    types: list[MdevType] = children(MdevType)  # mdev_types: offered; mdev: its own
    uuid: str | None = text_child()
    capabilities: list[NodeDevCapability] = same_class_children()  # nested (mdev_types)
    iommu_group: IommuGroup | None = child(IommuGroup)

    @property
    def mdev_type(self) -> str | None:
        """The type id of an ``mdev`` capability."""
        return self.types[0].id if self.type == "mdev" and self.types else None


@dataclass(kw_only=True)
class Driver(Element):
    """``<driver><name>vfio_mdev</name></driver>``."""

    TAG = "driver"
    name: str | None = text_child()


@dataclass(kw_only=True)
class NodeDevice(Element):
    """``<device>``: name, parent, driver and capabilities."""

    TAG = "device"
    name: str | None = text_child()
    path: str | None = text_child()
    parent: str | None = text_child()
    driver: Driver | None = child(Driver)
    capabilities: list[NodeDevCapability] = children(NodeDevCapability)

    def capability(self, cap_type: str) -> NodeDevCapability | None:
        """The (possibly nested) capability of ``cap_type``."""
        stack = list(self.capabilities)
        while stack:
            cap = stack.pop(0)
            if cap.type == cap_type:
                return cap
            stack.extend(cap.capabilities)
        return None
