"""``SimConnection``: the ``virConnect`` part of the libvirt-python API subset (see
CONTRIBUTING.md, "Hypervisor connections") over a :class:`SimHypervisor`; domains and
node devices are :class:`SimDomain` and :class:`SimNodeDevice`.

Method names and return shapes are libvirt-python's, so the driver cannot tell a
simulated host from a real one. Errors are real ``libvirt.libvirtError`` objects.
"""

from __future__ import annotations

from collections.abc import Callable

import libvirt

from virtfleet.virt.sim import capabilities
from virtfleet.virt.sim.devices import SimNodeDevice
from virtfleet.virt.sim.domain import SimDomain
from virtfleet.virt.sim.errors import libvirt_error
from virtfleet.virt.sim.hypervisor import DomainRecord, SimHypervisor

_MHZ = 2400
_LIST_FILTERS: tuple[tuple[int, Callable[[DomainRecord], bool]], ...] = (
    (libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE, lambda r: r.active),
    (libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE, lambda r: not r.active),
    (libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT, lambda r: r.persistent),
    (libvirt.VIR_CONNECT_LIST_DOMAINS_TRANSIENT, lambda r: not r.persistent),
    (libvirt.VIR_CONNECT_LIST_DOMAINS_RUNNING, lambda r: r.state == libvirt.VIR_DOMAIN_RUNNING),
    (libvirt.VIR_CONNECT_LIST_DOMAINS_SHUTOFF, lambda r: r.state == libvirt.VIR_DOMAIN_SHUTOFF),
)


class SimConnection:
    """A ``virConnect`` look-alike for one simulated host."""

    def __init__(self, hypervisor: SimHypervisor, uri: str | None = None) -> None:
        """A new connection to ``hypervisor`` (what ``open_connection('sim://…')`` returns)."""
        self.hypervisor = hypervisor
        self._fleet = hypervisor.fleet  # keeps the fleet (and migration peers) alive
        self._uri = uri or f"sim://{hypervisor.profile.name}"
        self._closed = False

    def __repr__(self) -> str:
        return f"SimConnection({self._uri!r})"

    def hypervisor_checked(self) -> SimHypervisor:
        """The hypervisor; raises ``VIR_ERR_INVALID_CONN`` once the connection is closed."""
        return self._hv

    @property
    def _hv(self) -> SimHypervisor:
        if self._closed:
            raise libvirt_error(
                libvirt.VIR_ERR_INVALID_CONN,
                "invalid connection pointer in virConnect",
                libvirt.VIR_FROM_NONE,
                prefix=False,
            )
        return self.hypervisor

    # ---- host ------------------------------------------------------------------------

    def getCapabilities(self) -> str:  # noqa: N802  # libvirt-python's name
        return capabilities.capabilities_xml(self._hv.profile)

    def getDomainCapabilities(  # noqa: N802  # libvirt-python's name
        self,
        emulatorbin: str | None = None,
        arch: str | None = None,
        machine: str | None = None,
        virttype: str | None = None,
        flags: int = 0,
    ) -> str:
        return capabilities.domain_capabilities_xml(
            self._hv.profile, emulatorbin, arch, machine, virttype
        )

    def getVersion(self) -> int:  # noqa: N802  # libvirt-python's name
        return self._hv.profile.qemu_version.encoded

    def getLibVersion(self) -> int:  # noqa: N802  # libvirt-python's name
        return self._hv.profile.libvirt_version.encoded

    def getHostname(self) -> str:  # noqa: N802  # libvirt-python's name
        return self._hv.profile.name

    def getInfo(self) -> list[str | int]:  # noqa: N802  # libvirt-python's name
        """``[arch, memory MiB, cpus, MHz, NUMA nodes, sockets, cores, threads]``."""
        profile = self._hv.profile
        cells = len(profile.numa)
        return [
            profile.arch,
            profile.memory_mb,
            profile.cpus,
            _MHZ,
            cells,
            1,
            profile.cpus // cells,
            1,
        ]

    def getSimDiskGB(self) -> int:  # noqa: N802  # named like the libvirt calls around it
        """Local disk of the simulated host (real hosts: statvfs of instances_path)."""
        return self._hv.profile.disk_gb

    def getType(self) -> str:  # noqa: N802  # libvirt-python's name
        self._hv  # noqa: B018  # raises on a closed connection
        return "QEMU"

    def getURI(self) -> str:  # noqa: N802  # libvirt-python's name
        self._hv  # noqa: B018  # raises on a closed connection
        return self._uri

    def isAlive(self) -> int:  # noqa: N802  # libvirt-python's name
        return 0 if self._closed else 1

    def close(self) -> int:
        if not self._closed:
            self.hypervisor.remove_listeners_of(self)
            self._closed = True
        return 0

    # ---- domains ---------------------------------------------------------------------

    def defineXML(self, xml: str) -> SimDomain:  # noqa: N802  # libvirt-python's name
        with self._hv.locked() as events:
            record = self._hv.define(xml, events)
        return SimDomain(self, record.definition.uuid, record.definition.name)

    def createXML(self, xml: str, flags: int = 0) -> SimDomain:  # noqa: N802  # libvirt's name
        """Start a transient domain (gone when it stops)."""
        with self._hv.locked() as events:
            record = self._hv.create_transient(xml, events)
        return SimDomain(self, record.definition.uuid, record.definition.name)

    def lookupByName(self, name: str) -> SimDomain:  # noqa: N802  # libvirt-python's name
        with self._hv.locked():
            return SimDomain(self, self._hv.uuid_of(name), name)

    def lookupByUUIDString(self, uuid: str) -> SimDomain:  # noqa: N802  # libvirt's name
        with self._hv.locked():
            definition = self._hv.record(uuid.lower()).definition
            return SimDomain(self, definition.uuid, definition.name)

    def listAllDomains(self, flags: int = 0) -> list[SimDomain]:  # noqa: N802  # libvirt's
        with self._hv.locked():
            records = self._hv.records()
        for flag, keep in _LIST_FILTERS:
            if flags & flag:
                records = [record for record in records if keep(record)]
        return [SimDomain(self, r.definition.uuid, r.definition.name) for r in records]

    def domain_handle(self, uuid: str, name: str) -> SimDomain:
        """A domain object bound to this connection (used for event callbacks)."""
        return SimDomain(self, uuid, name)

    # ---- events ----------------------------------------------------------------------

    def domainEventRegisterAny(  # noqa: N802  # libvirt-python's name
        self,
        dom: SimDomain | None,
        eventID: int,  # noqa: N803  # libvirt-python's name
        cb: Callable[..., object],
        opaque: object,
    ) -> int:
        return self._hv.add_listener(self, dom.UUIDString() if dom else None, eventID, cb, opaque)

    def domainEventDeregisterAny(self, callbackID: int) -> int:  # noqa: N802, N803  # libvirt's
        self._hv.remove_listener(callbackID)
        return 0

    # ---- node devices ----------------------------------------------------------------

    def listAllDevices(self, flags: int = 0) -> list[SimNodeDevice]:  # noqa: N802  # libvirt's
        with self._hv.locked():
            names = self._hv.devices.names(flags)
        return [SimNodeDevice(self, name) for name in names]

    def listDevices(self, cap: str | None, flags: int = 0) -> list[str]:  # noqa: N802  # libvirt's
        with self._hv.locked():
            names = self._hv.devices.names()
            return [n for n in names if cap is None or cap in self._hv.devices.caps(n)]

    def nodeDeviceLookupByName(self, name: str) -> SimNodeDevice:  # noqa: N802  # libvirt's
        with self._hv.locked():
            if not self._hv.devices.exists(name):
                raise libvirt_error(
                    libvirt.VIR_ERR_NO_NODE_DEVICE,
                    f"no node device with matching name '{name}'",
                    libvirt.VIR_FROM_NODEDEV,
                )
        return SimNodeDevice(self, name)

    def nodeDeviceCreateXML(self, xml: str, flags: int = 0) -> SimNodeDevice:  # noqa: N802
        with self._hv.locked():
            mdev = self._hv.devices.add_mdev(xml, active=True, persistent=False)
        return SimNodeDevice(self, mdev.name)

    def nodeDeviceDefineXML(self, xml: str, flags: int = 0) -> SimNodeDevice:  # noqa: N802
        with self._hv.locked():
            mdev = self._hv.devices.add_mdev(xml, active=False, persistent=True)
        return SimNodeDevice(self, mdev.name)
