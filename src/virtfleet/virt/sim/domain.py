"""``SimDomain``: the ``virDomain`` look-alike of the simulated hypervisor."""

from __future__ import annotations

import os
import socket
import time

import libvirt
from lxml import etree

from virtfleet.virt import config_drive
from virtfleet.virt.hypervisor import MigrationParams
from virtfleet.virt.sim import console
from virtfleet.virt.sim.errors import libvirt_error
from virtfleet.virt.sim.hypervisor import DomainRecord, HostView
from virtfleet.virt.sim.migration import migrate


class SimDomain:
    """A ``virDomain`` look-alike: a handle by UUID; state lives in the hypervisor.

    Like a ``virDomainPtr`` it remembers its name, so ``name()`` works even after the
    domain is gone (e.g. in an "undefined" event callback)."""

    def __init__(self, connection: HostView, uuid: str, name: str) -> None:
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
        return self._conn.hypervisor_checked().record(self._uuid)

    def connect(self) -> HostView:
        return self._conn

    def name(self) -> str:
        return self._name

    def UUIDString(self) -> str:  # noqa: N802  # libvirt-python's name
        return self._uuid

    def ID(self) -> int:  # noqa: N802  # libvirt-python's name
        with self._conn.hypervisor_checked().locked():
            return self._record().domain_id

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802  # libvirt-python's name
        hv = self._conn.hypervisor_checked()
        with hv.locked():
            return hv.xml_of(self._record(), flags)

    def simConfigDrive(self) -> tuple[str, dict[str, bytes]] | None:  # noqa: N802  # as getSimDiskGB
        """The config drive this guest was given (its label and files, read from the ISO
        its CD-ROM names), None without one: what the guest would find on it."""
        root = etree.fromstring(self.XMLDesc().encode())
        for disk in root.iterfind("devices/disk[@device='cdrom']"):
            source = disk.find("source")
            path = source.get("file") if source is not None else None
            if path and os.path.basename(path) == config_drive.FILE_NAME:
                return config_drive.read(path)
        return None

    def create(self) -> int:
        hv = self._conn.hypervisor_checked()
        with hv.locked() as events:
            hv.start(self._record(), events)
        return 0

    def createWithFlags(self, flags: int = 0) -> int:  # noqa: N802  # libvirt-python's name
        return self.create()

    def destroy(self) -> int:
        hv = self._conn.hypervisor_checked()
        with hv.locked() as events:
            record = self._record()
            hv.require_active(record)
            events.append(  # QEMU reports the SIGTERM libvirt sends it as a host shutdown
                (
                    self._uuid,
                    record.definition.name,
                    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN,
                    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN_HOST,
                )
            )
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
        """The ACPI power button: a guest on a host whose fleet says ``guest_acpi:
        honour`` (the default) powers off at once; ``ignore`` leaves it running."""
        hv = self._conn.hypervisor_checked()
        with hv.locked() as events:
            record = self._record()
            hv.require_active(record)
            if hv.profile.guest_acpi == "ignore":
                return 0
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

    def openSimConsole(self, kind: str) -> socket.socket:  # noqa: N802  # as getSimDiskGB
        """A simulated console of the running guest (simulator only): ``serial`` or
        ``vnc``; the driver uses it where a real guest has a pty or a VNC port."""
        hv = self._conn.hypervisor_checked()
        with hv.locked():
            hv.require_active(self._record())
        return console.open_console(kind, self._name)

    def setUserPassword(self, user: str, password: str, flags: int = 0) -> int:  # noqa: N802
        """The guest agent sets the password when the domain has its channel (the
        simulated agent always runs); libvirt's error otherwise."""
        hv = self._conn.hypervisor_checked()
        with hv.locked():
            record = self._record()
            hv.require_active(record)
            if "org.qemu.guest_agent.0" not in record.definition.xml:
                raise libvirt_error(
                    libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured"
                )
            record.passwords[user] = password
        return 0

    def reset(self, flags: int = 0) -> int:
        hv = self._conn.hypervisor_checked()
        with hv.locked():
            hv.require_active(self._record())
        return 0

    def reboot(self, flags: int = 0) -> int:
        return self.reset(flags)

    def suspend(self) -> int:
        hv = self._conn.hypervisor_checked()
        with hv.locked() as events:
            hv.suspend(self._record(), events)
        return 0

    def resume(self) -> int:
        hv = self._conn.hypervisor_checked()
        with hv.locked() as events:
            hv.resume(self._record(), events)
        return 0

    def managedSave(self, flags: int = 0) -> int:  # noqa: N802  # libvirt-python's name
        hv = self._conn.hypervisor_checked()
        with hv.locked() as events:
            hv.managed_save(self._record(), events)
        return 0

    def hasManagedSaveImage(self, flags: int = 0) -> int:  # noqa: N802  # libvirt's name
        with self._conn.hypervisor_checked().locked():
            return 1 if self._record().managed_save else 0

    def managedSaveRemove(self, flags: int = 0) -> int:  # noqa: N802  # libvirt's name
        with self._conn.hypervisor_checked().locked():
            self._record().managed_save = False
        return 0

    def undefine(self) -> int:
        hv = self._conn.hypervisor_checked()
        with hv.locked() as events:
            hv.undefine(self._record(), events)
        return 0

    def undefineFlags(self, flags: int = 0) -> int:  # noqa: N802  # libvirt-python's name
        return self.undefine()

    def state(self, flags: int = 0) -> list[int]:
        with self._conn.hypervisor_checked().locked():
            record = self._record()
            return [record.state, record.reason]

    def info(self) -> list[int]:
        """``[state, max memory KiB, memory KiB, vCPUs, CPU time ns]``."""
        with self._conn.hypervisor_checked().locked():
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
        with self._conn.hypervisor_checked().locked():
            return 1 if self._record().active else 0

    def isPersistent(self) -> int:  # noqa: N802  # libvirt-python's name
        with self._conn.hypervisor_checked().locked():
            return 1 if self._record().persistent else 0

    # ---- jobs and migration ----------------------------------------------------------

    def jobInfo(self) -> list[int]:  # noqa: N802  # libvirt-python's name
        """libvirt's 12-field job info (type, times, data, memory, file)."""
        with self._conn.hypervisor_checked().locked():
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
        with self._conn.hypervisor_checked().locked():
            record = self._record()
            job = record.last_job if flags & libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED else record.job
            return job.stats() if job is not None else {"type": libvirt.VIR_DOMAIN_JOB_NONE}

    def abortJob(self) -> int:  # noqa: N802  # libvirt-python's name
        with self._conn.hypervisor_checked().locked():
            job = self._record().job
            if job is None:
                raise libvirt_error(
                    libvirt.VIR_ERR_OPERATION_INVALID, "no job is active on the domain"
                )
            job.aborted.set()
        return 0

    def migrateStartPostCopy(self, flags: int = 0) -> int:  # noqa: N802  # libvirt's name
        """Refused as libvirt refuses it: without an outgoing migration, or one not
        started with VIR_MIGRATE_POSTCOPY (the simulator never switches to post-copy)."""
        with self._conn.hypervisor_checked().locked():
            job = self._record().job
            if job is None or job.completed:
                raise libvirt_error(
                    libvirt.VIR_ERR_OPERATION_INVALID,
                    "post-copy can only be started while outgoing migration is in progress",
                )
            if not job.flags & libvirt.VIR_MIGRATE_POSTCOPY:
                raise libvirt_error(
                    libvirt.VIR_ERR_OPERATION_INVALID,
                    "switching to post-copy requires migration to be started with "
                    "VIR_MIGRATE_POSTCOPY flag",
                )
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_UNSUPPORTED,
                "the simulated hypervisor does not run post-copy migrations",
            )

    def migrateToURI3(  # noqa: N802  # libvirt-python's name
        self, dconnuri: str, params: MigrationParams, flags: int = 0
    ) -> int:
        migrate(self._conn.hypervisor_checked(), self._uuid, dconnuri, params or {}, flags)
        return 0
