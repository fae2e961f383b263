"""``SimConnection``, ``SimDomain``, ``SimNodeDevice``: the libvirt-python API subset
(see CONTRIBUTING.md, "Hypervisor connections") over a :class:`SimHypervisor`.

Method names and return shapes are libvirt-python's, so the driver cannot tell a
simulated host from a real one. Errors are real ``libvirt.libvirtError`` objects.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import libvirt

from virtfleet.virt.sim import capabilities
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

    def __init__(self, hypervisor: SimHypervisor, uri: str) -> None:
        self.hypervisor = hypervisor
        self._uri = uri
        self._closed = False

    def __repr__(self) -> str:
        return f"SimConnection({self._uri!r})"

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

    def getInfo(self) -> list[Any]:  # noqa: N802  # libvirt-python's name
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
        cb: Callable[..., Any],
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


class SimDomain:
    """A ``virDomain`` look-alike: a handle by UUID; state lives in the hypervisor.

    Like a ``virDomainPtr`` it remembers its name, so ``name()`` works even after the
    domain is gone (e.g. in an "undefined" event callback)."""

    def __init__(self, connection: SimConnection, uuid: str, name: str) -> None:
        self._conn = connection
        self._uuid = uuid
        self._name = name

    def __repr__(self) -> str:
        return f"SimDomain({self._uuid!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SimDomain) and other._uuid == self._uuid

    def __hash__(self) -> int:
        return hash(self._uuid)

    def _record(self) -> DomainRecord:
        return self._conn._hv.record(self._uuid)

    def connect(self) -> SimConnection:
        return self._conn

    def name(self) -> str:
        return self._name

    def UUIDString(self) -> str:  # noqa: N802  # libvirt-python's name
        return self._uuid

    def ID(self) -> int:  # noqa: N802  # libvirt-python's name
        with self._conn._hv.locked():
            return self._record().domain_id

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802  # libvirt-python's name
        hv = self._conn._hv
        with hv.locked():
            return hv.xml_of(self._record(), flags)

    def create(self) -> int:
        hv = self._conn._hv
        with hv.locked() as events:
            hv.start(self._record(), events)
        return 0

    def createWithFlags(self, flags: int = 0) -> int:  # noqa: N802  # libvirt-python's name
        return self.create()

    def destroy(self) -> int:
        hv = self._conn._hv
        with hv.locked() as events:
            record = self._record()
            hv.require_active(record)
            hv.stop(
                record,
                libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED,
                libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
                events,
            )
        return 0

    def destroyFlags(self, flags: int = 0) -> int:  # noqa: N802  # libvirt-python's name
        return self.destroy()

    def shutdown(self) -> int:
        """A guest that honours ACPI: it powers off at once."""
        hv = self._conn._hv
        with hv.locked() as events:
            record = self._record()
            hv.require_active(record)
            events.append(
                (
                    self._uuid,
                    record.definition.name,
                    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN,
                    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED,
                )
            )
            hv.stop(
                record,
                libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN,
                libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
                events,
            )
        return 0

    def shutdownFlags(self, flags: int = 0) -> int:  # noqa: N802  # libvirt-python's name
        return self.shutdown()

    def reset(self, flags: int = 0) -> int:
        hv = self._conn._hv
        with hv.locked():
            hv.require_active(self._record())
        return 0

    def reboot(self, flags: int = 0) -> int:
        return self.reset(flags)

    def undefine(self) -> int:
        hv = self._conn._hv
        with hv.locked() as events:
            hv.undefine(self._record(), events)
        return 0

    def undefineFlags(self, flags: int = 0) -> int:  # noqa: N802  # libvirt-python's name
        return self.undefine()

    def state(self, flags: int = 0) -> list[int]:
        with self._conn._hv.locked():
            record = self._record()
            return [record.state, record.reason]

    def info(self) -> list[int]:
        """``[state, max memory KiB, memory KiB, vCPUs, CPU time ns]``."""
        with self._conn._hv.locked():
            record = self._record()
            definition = record.definition
            cpu_time = int((time.monotonic() - record.started) * 1e9 * 0.01) if record.active else 0
            return [
                record.state,
                definition.memory_kib,
                definition.memory_kib,
                definition.vcpus,
                cpu_time,
            ]

    def isActive(self) -> int:  # noqa: N802  # libvirt-python's name
        with self._conn._hv.locked():
            return 1 if self._record().active else 0

    def isPersistent(self) -> int:  # noqa: N802  # libvirt-python's name
        with self._conn._hv.locked():
            return 1 if self._record().persistent else 0

    # ---- jobs and migration ----------------------------------------------------------

    def jobInfo(self) -> list[int]:  # noqa: N802  # libvirt-python's name
        """libvirt's 12-field job info (type, times, data, memory, file)."""
        with self._conn._hv.locked():
            job = self._record().job
            if job is None:
                return [libvirt.VIR_DOMAIN_JOB_NONE] + [0] * 11
            stats = job.stats()
        return [
            stats["type"],
            stats[libvirt.VIR_DOMAIN_JOB_TIME_ELAPSED],
            0,
            stats[libvirt.VIR_DOMAIN_JOB_DATA_TOTAL],
            stats[libvirt.VIR_DOMAIN_JOB_DATA_PROCESSED],
            stats[libvirt.VIR_DOMAIN_JOB_DATA_REMAINING],
            stats[libvirt.VIR_DOMAIN_JOB_MEMORY_TOTAL],
            stats[libvirt.VIR_DOMAIN_JOB_MEMORY_PROCESSED],
            stats[libvirt.VIR_DOMAIN_JOB_MEMORY_REMAINING],
            0,
            0,
            0,
        ]

    def jobStats(self, flags: int = 0) -> dict[str, int]:  # noqa: N802  # libvirt's name
        with self._conn._hv.locked():
            record = self._record()
            job = record.last_job if flags & libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED else record.job
            return job.stats() if job is not None else {"type": libvirt.VIR_DOMAIN_JOB_NONE}

    def abortJob(self) -> int:  # noqa: N802  # libvirt-python's name
        with self._conn._hv.locked():
            job = self._record().job
            if job is None:
                raise libvirt_error(
                    libvirt.VIR_ERR_OPERATION_INVALID, "no job is active on the domain"
                )
            job.aborted.set()
        return 0

    def migrateToURI3(  # noqa: N802  # libvirt-python's name
        self, dconnuri: str, params: dict[str, Any], flags: int = 0
    ) -> int:
        from virtfleet.virt.sim.migration import migrate

        migrate(self._conn._hv, self._uuid, dconnuri, params or {}, flags)
        return 0


class SimNodeDevice:
    """A ``virNodeDevice`` look-alike, by name."""

    def __init__(self, connection: SimConnection, name: str) -> None:
        self._conn = connection
        self._name = name

    def __repr__(self) -> str:
        return f"SimNodeDevice({self._name!r})"

    def name(self) -> str:
        return self._name

    def parent(self) -> str | None:
        xml = self.XMLDesc()
        start = xml.find("<parent>")
        return xml[start + 8 : xml.find("</parent>")] if start >= 0 else None

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802  # libvirt-python's name
        with self._conn._hv.locked():
            return self._conn._hv.devices.xml(self._name)

    def listCaps(self) -> list[str]:  # noqa: N802  # libvirt-python's name
        with self._conn._hv.locked():
            return self._conn._hv.devices.caps(self._name)

    def create(self, flags: int = 0) -> int:
        with self._conn._hv.locked():
            self._conn._hv.devices.start(self._name)
        return 0

    def destroy(self) -> int:
        hv = self._conn._hv
        with hv.locked():
            mdev = next((m for m in hv.devices.mdevs.values() if m.name == self._name), None)
            user = next(
                (d for d in hv.running_definitions() if mdev and mdev.uuid in d.mdev_uuids), None
            )
            if user is not None:
                raise libvirt_error(
                    libvirt.VIR_ERR_OPERATION_FAILED,
                    f"Unable to stop mediated device '{self._name}': device is in use by "
                    f"domain {user.name}",
                    libvirt.VIR_FROM_NODEDEV,
                )
            hv.devices.stop(self._name)
        return 0

    def undefine(self, flags: int = 0) -> int:
        with self._conn._hv.locked():
            self._conn._hv.devices.undefine(self._name)
        return 0

    def isActive(self) -> int:  # noqa: N802  # libvirt-python's name
        with self._conn._hv.locked():
            mdev = next(
                (m for m in self._conn._hv.devices.mdevs.values() if m.name == self._name), None
            )
            if mdev is None and not self._conn._hv.devices.exists(self._name):
                self._conn._hv.devices.caps(self._name)  # raises VIR_ERR_NO_NODE_DEVICE
            return 1 if mdev is None or mdev.active else 0
