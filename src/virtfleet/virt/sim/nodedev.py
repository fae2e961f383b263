"""Simulated node devices: the host root, PCI GPUs with mdev types, and mdevs.

State only; locking is the caller's (:class:`~virtfleet.virt.sim.hypervisor.SimHypervisor`).
XML shapes follow libvirt's node device driver (``virsh nodedev-dumpxml``).
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable
from dataclasses import dataclass

import libvirt
from lxml import etree

from virtfleet.virt.sim.domxml import DomainDef, parse_xml
from virtfleet.virt.sim.errors import libvirt_error
from virtfleet.virt.sim.profile import Gpu, HostProfile, Version

ROOT_DEVICE = "computer"
_NODEDEV = libvirt.VIR_FROM_NODEDEV


@dataclass
class Mdev:
    """One mediated device: defined (persistent) and/or active (started)."""

    uuid: str
    type_id: str
    parent: str  # node device name of the parent GPU
    active: bool
    persistent: bool
    name: str  # node device name, see mdev_device_name()


# libvirt 7.7 appended the parent's PCI address to mdev node device names (mdevctl may
# define one UUID on several parents); older libvirt names them by UUID alone.
MDEV_NAME_WITH_PARENT = Version(7, 7, 0)


def mdev_device_name(uuid: str, parent: Gpu, libvirt_version: Version) -> str:
    """``mdev_<uuid>`` (libvirt < 7.7) or ``mdev_<uuid>_<dddd_bb_ss_f>``."""
    name = "mdev_" + uuid.replace("-", "_")
    if libvirt_version >= MDEV_NAME_WITH_PARENT:
        name += "_" + parent.address.replace(":", "_").replace(".", "_")
    return name


class NodeDevices:
    """The node devices of one host and the mdevs created on it."""

    def __init__(self, profile: HostProfile) -> None:
        self.profile = profile
        self.gpus: dict[str, Gpu] = {gpu.nodedev_name: gpu for gpu in profile.gpus}
        self.mdevs: dict[str, Mdev] = {}  # by uuid

    # ---- queries ---------------------------------------------------------------------

    def names(self, flags: int = 0) -> list[str]:
        """Device names matching ``listAllDevices`` flags (capability and state)."""
        caps = flags & ~(
            libvirt.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE
            | libvirt.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE
        )
        want_active = flags & libvirt.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE
        want_inactive = flags & libvirt.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE
        rows: list[tuple[str, int, bool]] = [
            (ROOT_DEVICE, libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM, True)
        ]
        for name, gpu in self.gpus.items():
            cap = libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV
            if gpu.mdev_types:
                cap |= libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES
            rows.append((name, cap, True))
        for mdev in self.mdevs.values():
            rows.append((mdev.name, libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV, mdev.active))
        return [
            name
            for name, cap, active in rows
            if (not caps or cap & caps)
            and (
                not (want_active or want_inactive)
                or (active and want_active)
                or (not active and want_inactive)
            )
        ]

    def exists(self, name: str) -> bool:
        return name == ROOT_DEVICE or name in self.gpus or self._mdev_by_name(name) is not None

    def caps(self, name: str) -> list[str]:
        if name == ROOT_DEVICE:
            return ["system"]
        if name in self.gpus:
            return ["pci", "mdev_types"] if self.gpus[name].mdev_types else ["pci"]
        self._require_mdev(name)
        return ["mdev"]

    def available(self, parent: str, type_id: str) -> int:
        """Instances of ``type_id`` ``parent`` can still create (active mdevs count)."""
        gpu = self.gpus[parent]
        total = next((t.available for t in gpu.mdev_types if t.type_id == type_id), 0)
        used = sum(1 for m in self.mdevs.values() if m.parent == parent and m.active)
        # One mdev type per physical GPU at a time, as NVIDIA vGPU enforces.
        mixed = any(
            m.parent == parent and m.active and m.type_id != type_id for m in self.mdevs.values()
        )
        return 0 if mixed else max(total - used, 0)

    def active_mdev(self, uuid: str) -> Mdev | None:
        mdev = self.mdevs.get(uuid)
        return mdev if mdev is not None and mdev.active else None

    def xml(self, name: str) -> str:
        if name == ROOT_DEVICE:
            return self._root_xml()
        if name in self.gpus:
            return self._gpu_xml(self.gpus[name])
        return self._mdev_xml(self._require_mdev(name))

    # ---- mutations -------------------------------------------------------------------

    def add_mdev(self, xml: str, *, active: bool, persistent: bool) -> Mdev:
        """``nodeDeviceCreateXML`` (active, transient) / ``DefineXML`` (persistent)."""
        root = parse_xml(xml, "device_definition")
        parent = (root.findtext("parent") or "").strip()
        cap = root.find("capability")
        if cap is None or cap.get("type") != "mdev":
            raise libvirt_error(
                libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                "only mediated devices can be created on this host",
                _NODEDEV,
            )
        type_element = cap.find("type")
        type_id = type_element.get("id", "") if type_element is not None else ""
        if not parent:
            raise libvirt_error(
                libvirt.VIR_ERR_XML_ERROR, "missing parent device for mediated device", _NODEDEV
            )
        if parent not in self.gpus:
            raise libvirt_error(
                libvirt.VIR_ERR_NO_NODE_DEVICE,
                f"no node device with matching name '{parent}'",
                _NODEDEV,
            )
        if type_id not in {t.type_id for t in self.gpus[parent].mdev_types}:
            raise libvirt_error(
                libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                f"parent device '{parent}' does not support mediated device type '{type_id}'",
                _NODEDEV,
            )
        uuid = self._new_uuid(cap.findtext("uuid"))
        name = mdev_device_name(uuid, self.gpus[parent], self.profile.libvirt_version)
        mdev = Mdev(uuid, type_id, parent, active=False, persistent=persistent, name=name)
        if active:
            self._check_can_start(mdev)
            mdev.active = True
        self.mdevs[uuid] = mdev
        return mdev

    def start(self, name: str) -> None:
        mdev = self._require_mdev(name)
        if mdev.active:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_INVALID, "Device is already active", _NODEDEV
            )
        self._check_can_start(mdev)
        mdev.active = True

    def is_active(self, name: str) -> bool:
        """Host devices are always active; mdevs when started."""
        if name == ROOT_DEVICE or name in self.gpus:
            return True
        return self._require_mdev(name).active

    def stop(self, name: str, running: Iterable[DomainDef] = ()) -> None:
        """Stop an active mdev (refused while a running domain uses it)."""
        mdev = self._require_mdev(name)
        user = next((d for d in running if mdev.uuid in d.mdev_uuids), None)
        if user is not None:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_FAILED,
                f"Unable to stop mediated device '{name}': device is in use by domain {user.name}",
                _NODEDEV,
            )
        if not mdev.active:
            raise libvirt_error(libvirt.VIR_ERR_OPERATION_INVALID, "Device is not active", _NODEDEV)
        mdev.active = False
        if not mdev.persistent:
            del self.mdevs[mdev.uuid]

    def undefine(self, name: str) -> None:
        mdev = self._require_mdev(name)
        if not mdev.persistent:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_INVALID, "Device is not persistent", _NODEDEV
            )
        mdev.persistent = False
        if not mdev.active:
            del self.mdevs[mdev.uuid]

    # ---- helpers ---------------------------------------------------------------------

    def _new_uuid(self, text: str | None) -> str:
        if text is None:
            return str(uuid_module.uuid4())
        try:
            uuid = str(uuid_module.UUID(text.strip()))
        except ValueError:
            raise libvirt_error(
                libvirt.VIR_ERR_XML_ERROR, f"Unable to parse uuid '{text}'", _NODEDEV
            ) from None
        if uuid in self.mdevs:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_FAILED,
                f"mediated device with uuid '{uuid}' already exists",
                _NODEDEV,
            )
        return uuid

    def _check_can_start(self, mdev: Mdev) -> None:
        if self.available(mdev.parent, mdev.type_id) < 1:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_FAILED,
                f"Unable to start mediated device '{mdev.name}': no available instances "
                f"of type '{mdev.type_id}' on '{mdev.parent}'",
                _NODEDEV,
            )

    def _mdev_by_name(self, name: str) -> Mdev | None:
        return next((m for m in self.mdevs.values() if m.name == name), None)

    def _require_mdev(self, name: str) -> Mdev:
        mdev = self._mdev_by_name(name)
        if mdev is None:
            raise libvirt_error(
                libvirt.VIR_ERR_NO_NODE_DEVICE,
                f"no node device with matching name '{name}'",
                _NODEDEV,
            )
        return mdev

    def _root_xml(self) -> str:
        device = etree.Element("device")
        etree.SubElement(device, "name").text = ROOT_DEVICE
        cap = etree.SubElement(device, "capability", type="system")
        etree.SubElement(cap, "product").text = "Simulated hypervisor"
        hardware = etree.SubElement(cap, "hardware")
        etree.SubElement(hardware, "vendor").text = "virtfleet"
        return _pretty(device)

    def _gpu_xml(self, gpu: Gpu) -> str:
        domain, bus, slot_function = gpu.address.split(":")
        slot, function = slot_function.split(".")
        device = etree.Element("device")
        etree.SubElement(device, "name").text = gpu.nodedev_name
        etree.SubElement(device, "path").text = f"/sys/devices/pci{domain}:{bus}/{gpu.address}"
        etree.SubElement(device, "parent").text = ROOT_DEVICE
        driver = etree.SubElement(device, "driver")
        etree.SubElement(driver, "name").text = "nvidia" if gpu.mdev_types else "vfio-pci"
        cap = etree.SubElement(device, "capability", type="pci")
        etree.SubElement(cap, "class").text = "0x030200"
        for tag, value in (
            ("domain", domain),
            ("bus", bus),
            ("slot", slot),
            ("function", function),
        ):
            etree.SubElement(cap, tag).text = str(int(value, 16))
        etree.SubElement(cap, "product", id="0x1eb8").text = gpu.product
        etree.SubElement(cap, "vendor", id="0x10de").text = gpu.vendor
        if gpu.mdev_types:
            types = etree.SubElement(cap, "capability", type="mdev_types")
            for mdev_type in gpu.mdev_types:
                element = etree.SubElement(types, "type", id=mdev_type.type_id)
                etree.SubElement(element, "name").text = mdev_type.name
                etree.SubElement(element, "deviceAPI").text = mdev_type.device_api
                etree.SubElement(element, "availableInstances").text = str(
                    self.available(gpu.nodedev_name, mdev_type.type_id)
                )
        group = etree.SubElement(cap, "iommuGroup", number=str(int(bus, 16)))
        etree.SubElement(
            group,
            "address",
            domain=f"0x{domain}",
            bus=f"0x{bus}",
            slot=f"0x{slot}",
            function=f"0x{function}",
        )
        etree.SubElement(cap, "numa", node=str(gpu.numa_node))
        return _pretty(device)

    def _mdev_xml(self, mdev: Mdev) -> str:
        gpu = self.gpus[mdev.parent]
        domain, bus, _ = gpu.address.split(":")
        device = etree.Element("device")
        etree.SubElement(device, "name").text = mdev.name
        etree.SubElement(
            device, "path"
        ).text = f"/sys/devices/pci{domain}:{bus}/{gpu.address}/{mdev.uuid}"
        etree.SubElement(device, "parent").text = mdev.parent
        driver = etree.SubElement(device, "driver")
        etree.SubElement(driver, "name").text = "vfio_mdev"
        cap = etree.SubElement(device, "capability", type="mdev")
        etree.SubElement(cap, "type", id=mdev.type_id)
        etree.SubElement(cap, "uuid").text = mdev.uuid
        etree.SubElement(cap, "iommuGroup", number=str(100 + len(self.mdevs)))
        return _pretty(device)


def _pretty(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode", pretty_print=True)
