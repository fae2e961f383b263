"""The hypervisor seam: what virtfleet calls on libvirt-python's ``virConnect``,
``virDomain`` and ``virNodeDevice``, as protocols.

Real libvirt objects (``libvirt.open``) and the simulator's
(:mod:`virtfleet.virt.sim`) both satisfy them: mypy checks the simulator's where
:func:`virtfleet.virt.connection.open_connection` returns one, and
``tests/virt/test_hypervisor_seam.py`` checks every member against libvirt-python's
classes and the simulator's. Parameters are positional-only, as libvirt-python's
callers pass them. A call not listed here is not part of the seam: add it here (and
to the simulator) first. (A simulated connection also answers ``getSimDiskGB``;
discovery asks for it only where it exists.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

#: ``migrateToURI3`` parameters: ``VIR_MIGRATE_PARAM_*`` name -> value.
MigrationParams = dict[str, str | int]


class Domain(Protocol):
    """A guest (``virDomain``)."""

    def name(self) -> str: ...
    def UUIDString(self) -> str: ...  # noqa: N802  # libvirt-python's name
    def XMLDesc(self, flags: int = 0, /) -> str: ...  # noqa: N802  # libvirt-python's name
    def create(self) -> int: ...
    def destroy(self) -> int: ...
    def shutdown(self) -> int:
        """Ask the guest to power off (the ACPI power button); returns at once."""
        ...

    def reset(self, flags: int = 0, /) -> int: ...
    def setUserPassword(  # noqa: N802  # libvirt-python's name
        self, user: str, password: str, flags: int = 0, /
    ) -> int:
        """Set ``user``'s password inside the guest (through the QEMU guest agent)."""
        ...

    def suspend(self) -> int: ...
    def resume(self) -> int: ...
    def managedSave(self, flags: int = 0, /) -> int: ...  # noqa: N802  # libvirt-python's name
    def hasManagedSaveImage(self, flags: int = 0, /) -> int: ...  # noqa: N802  # libvirt's name
    def managedSaveRemove(self, flags: int = 0, /) -> int: ...  # noqa: N802  # libvirt's name
    def undefine(self) -> int: ...
    def undefineFlags(self, flags: int = 0, /) -> int: ...  # noqa: N802  # libvirt-python's name
    def state(self, flags: int = 0, /) -> list[int]:
        """``[state, reason]``."""
        ...

    def isActive(self) -> int: ...  # noqa: N802  # libvirt-python's name
    def isPersistent(self) -> int: ...  # noqa: N802  # libvirt-python's name
    def jobStats(self, flags: int = 0, /) -> dict[str, int]: ...  # noqa: N802  # libvirt's name
    def abortJob(self) -> int: ...  # noqa: N802  # libvirt-python's name
    def migrateToURI3(  # noqa: N802  # libvirt-python's name
        self, dconnuri: str, params: MigrationParams, flags: int = 0, /
    ) -> int: ...


class NodeDevice(Protocol):
    """A host device (``virNodeDevice``): PCI devices, GPUs, mediated devices."""

    def name(self) -> str: ...
    def XMLDesc(self, flags: int = 0, /) -> str: ...  # noqa: N802  # libvirt-python's name
    def destroy(self) -> int: ...


#: libvirt's lifecycle callback: ``(connection, domain, event, detail, opaque)``.
LifecycleEventCallback = Callable[["Connection", Domain, int, int, object], None]


class Connection(Protocol):
    """A hypervisor connection (``virConnect``)."""

    def getCapabilities(self) -> str: ...  # noqa: N802  # libvirt-python's name
    def getDomainCapabilities(  # noqa: N802  # libvirt-python's name
        self,
        emulatorbin: str | None = None,
        arch: str | None = None,
        machine: str | None = None,
        virttype: str | None = None,
        flags: int = 0,
        /,
    ) -> str: ...
    def getInfo(self) -> list[str | int]:  # noqa: N802  # libvirt-python's name
        """``[arch, memory MiB, cpus, MHz, NUMA nodes, sockets, cores, threads]``."""
        ...

    def getType(self) -> str: ...  # noqa: N802  # libvirt-python's name
    def getLibVersion(self) -> int: ...  # noqa: N802  # libvirt-python's name
    def getVersion(self) -> int: ...  # noqa: N802  # libvirt-python's name
    def getHostname(self) -> str: ...  # noqa: N802  # libvirt-python's name
    def isAlive(self) -> int: ...  # noqa: N802  # libvirt-python's name
    def close(self) -> int: ...
    def defineXML(self, xml: str, /) -> Domain: ...  # noqa: N802  # libvirt-python's name
    def createXML(self, xml: str, flags: int = 0, /) -> Domain: ...  # noqa: N802  # libvirt's
    def lookupByUUIDString(self, uuid: str, /) -> Domain: ...  # noqa: N802  # libvirt's name
    def listAllDomains(self, flags: int = 0, /) -> Sequence[Domain]: ...  # noqa: N802
    def domainEventRegisterAny(  # noqa: N802  # libvirt-python's name
        self, dom: None, event_id: int, cb: LifecycleEventCallback, opaque: None, /
    ) -> int:
        """Events of every domain (``dom`` None) on ``cb``; virtfleet registers only
        lifecycle events this way."""
        ...

    def listAllDevices(self, flags: int = 0, /) -> Sequence[NodeDevice]: ...  # noqa: N802
    def nodeDeviceLookupByName(self, name: str, /) -> NodeDevice: ...  # noqa: N802
    def nodeDeviceCreateXML(self, xml: str, flags: int = 0, /) -> NodeDevice: ...  # noqa: N802
