"""Mdevs for guests: which exist, which a guest holds, and picking or creating free
ones of a type on given GPUs.

A mdev is *in use* when a defined domain names it in a ``<hostdev type='mdev'>``, and
*held* when a migration claimed it; anything else of the right type and parent is
free and reused before a new one is created.
"""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Callable, Collection, Mapping, Sequence

import libvirt
from lxml import etree

from virtfleet import errors
from virtfleet.agent.mdev import naming
from virtfleet.agent.mdev.providers import GpuProvider, active_mdevs
from virtfleet.virt.hypervisor import Connection
from virtfleet.virt.libvirt.mdev import MediatedDevice, mdev_create_xml

MDEV_ADDRESS = "devices/hostdev[@type='mdev']/source/address"


def guest_mdev_uuids(domain_xml: str) -> tuple[str, ...]:
    """The mdev uuids a domain XML attaches, in document order."""
    root = etree.fromstring(domain_xml.encode())
    return tuple(str(a.get("uuid")) for a in root.iterfind(MDEV_ADDRESS) if a.get("uuid"))


def mdevs_in_use(conn: Connection) -> dict[str, str]:
    """mdev uuid -> uuid of the defined domain that attaches it."""
    used: dict[str, str] = {}
    for domain in conn.listAllDomains(0):
        for mdev in guest_mdev_uuids(domain.XMLDesc(0)):
            used[mdev] = domain.UUIDString()
    return used


def gpu_demand(
    gpus: Sequence[GpuProvider], allocations: Mapping[str, Mapping[str, int]] | None
) -> list[tuple[GpuProvider, int]]:
    """The GPUs of this host an allocation takes ``VGPU`` from, with how many."""
    by_uuid = {gpu.uuid: gpu for gpu in gpus}
    demand = []
    for provider_uuid, resources in (allocations or {}).items():
        amount = int(resources.get(naming.VGPU, 0))
        if amount <= 0:
            continue
        gpu = by_uuid.get(provider_uuid)
        if gpu is None:
            raise errors.InvalidInput(
                f"the allocation takes {amount} {naming.VGPU} from provider {provider_uuid}, "
                "which is not a GPU of this host"
            )
        demand.append((gpu, amount))
    return demand


class MdevPicker:
    """Takes free mdevs of a GPU's type (or creates them); remembers what it created
    so a failed spawn can remove exactly those."""

    def __init__(self, conn: Connection, unavailable: Collection[str]) -> None:
        self._conn = conn
        self._unavailable = set(unavailable)
        self._existing: tuple[MediatedDevice, ...] = active_mdevs(conn)
        self.created: list[str] = []
        self.taken: list[str] = []

    def take(self, gpu: GpuProvider, count: int) -> list[str]:
        """``count`` mdevs of ``gpu.type_id`` on ``gpu``: free ones first, then new."""
        free = [
            m.uuid
            for m in self._existing
            if m.parent == gpu.device
            and m.type_id == gpu.type_id
            and m.uuid not in self._unavailable
        ]
        taken = free[:count]
        while len(taken) < count:
            taken.append(self._create(gpu))
        self._unavailable.update(taken)
        self.taken.extend(taken)
        return taken

    def _create(self, gpu: GpuProvider) -> str:
        uuid = str(uuid_lib.uuid4())
        try:
            self._conn.nodeDeviceCreateXML(mdev_create_xml(gpu.device, gpu.type_id, uuid), 0)
        except libvirt.libvirtError as exc:
            raise errors.HypervisorError(
                f"cannot create an mdev of type {gpu.type_id} on {gpu.pci_address}: "
                f"{exc.get_error_message()}",
                exc.get_error_code(),
            ) from exc
        self.created.append(uuid)
        return uuid

    def undo(self) -> None:
        """Remove the mdevs this picker created (best effort)."""
        remove_mdevs(self._conn, self.created)
        self.created = []


def remove_mdevs(conn: Connection, uuids: Collection[str]) -> None:
    """Stop the transient mdevs ``uuids`` (already gone ones are fine)."""
    wanted = set(uuids)
    for mdev in active_mdevs(conn):
        if mdev.uuid in wanted:
            try:
                conn.nodeDeviceLookupByName(mdev.device).destroy()
            except libvirt.libvirtError:
                continue


def assign_for_allocation(
    conn: Connection,
    gpus: Sequence[GpuProvider],
    allocations: Mapping[str, Mapping[str, int]] | None,
    held: Callable[[], Collection[str]],
) -> MdevPicker | None:
    """Pick the mdevs a guest's ``VGPU`` allocation asks for (None when it asks for
    none); ``held()`` gives the mdevs claimed by migrations. ``picker.taken`` lists
    them in the allocation's order."""
    demand = gpu_demand(gpus, allocations)
    if not demand:
        return None
    picker = MdevPicker(conn, {*mdevs_in_use(conn), *held()})
    try:
        for gpu, amount in demand:
            picker.take(gpu, amount)
    except Exception:
        picker.undo()
        raise
    return picker
