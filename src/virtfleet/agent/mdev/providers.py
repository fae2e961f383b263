"""GPU child providers: one per physical GPU serving an enabled mdev type.

Each reports ``VGPU`` with total = instances it can still create + mdevs of its type
that already exist on it (active ones), and the type's trait. GPUs serving no enabled
type are not reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import libvirt
from oslo_config import cfg

from virtfleet.agent.mdev import config, naming
from virtfleet.virt.hypervisor import Connection
from virtfleet.virt.libvirt.mdev import MediatedDevice, mdev_parents, mediated_devices


@dataclasses.dataclass(frozen=True)
class NestedGpu:
    """A GPU provider as host reporting takes it (``NestedProviderInfo``)."""

    name: str
    parent_name: str | None
    inventories: Mapping[str, int]
    traits: frozenset[str]


@dataclasses.dataclass(frozen=True)
class GpuProvider:
    """A physical GPU as a nested provider (the shape host reporting takes)."""

    host: str
    device: str  # node device name, e.g. pci_0000_3b_00_0
    pci_address: str
    type_id: str
    total: int

    @property
    def name(self) -> str:
        return naming.gpu_provider_name(self.host, self.device)

    @property
    def uuid(self) -> str:
        return naming.gpu_provider_uuid(self.host, self.device)

    @property
    def parent_name(self) -> str | None:
        return None  # the compute node

    @property
    def inventories(self) -> Mapping[str, int]:
        return {naming.VGPU: self.total}

    @property
    def traits(self) -> frozenset[str]:
        return frozenset({naming.type_trait(self.type_id)})

    def as_nested(self) -> NestedGpu:
        return NestedGpu(self.name, self.parent_name, self.inventories, self.traits)


def active_mdevs(conn: Connection) -> tuple[MediatedDevice, ...]:
    """Existing mdevs that are started (defined-only ones hold nothing)."""
    flags = (
        libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV
        | libvirt.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE
    )
    active = {device.name() for device in conn.listAllDevices(flags)}
    return tuple(m for m in mediated_devices(conn) if m.device in active)


def gpu_providers(conn: Connection, conf: cfg.ConfigOpts, host: str) -> list[GpuProvider]:
    """The GPU providers of ``host`` under ``conf`` (none when no type is enabled)."""
    enabled = config.enabled_types(conf)
    if not enabled:
        return []
    existing = active_mdevs(conn)
    found = []
    for parent in mdev_parents(conn, enabled):
        offered = {t.type_id: t for t in parent.types}
        type_id = config.type_for_gpu(conf, parent.pci_address, list(offered))
        if type_id is None:
            continue
        created = sum(1 for m in existing if m.parent == parent.device and m.type_id == type_id)
        total = offered[type_id].available + created
        found.append(GpuProvider(host, parent.device, parent.pci_address, type_id, total))
    return found
