"""The state of one simulated host: domains, node devices, event listeners, faults.

:class:`SimHypervisor` is thread safe: every state change happens under one lock, and
lifecycle events are delivered on a separate event thread, as real libvirt delivers them
from its event loop (``wait_for_events()`` waits for them). Connections
(:class:`~virtfleet.virt.sim.connection.SimConnection`) are thin views over it; several
connections to one host share one hypervisor.
"""

from __future__ import annotations

import functools
import itertools
import logging
import pathlib
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import libvirt

from virtfleet.virt.sim import capabilities, persistence
from virtfleet.virt.sim.domxml import DomainDef, live_xml, parse_domain
from virtfleet.virt.sim.errors import libvirt_error
from virtfleet.virt.sim.events import DISPATCHER
from virtfleet.virt.sim.nodedev import NodeDevices
from virtfleet.virt.sim.profile import HostProfile
from virtfleet.virt.sim.startcheck import check_start

if TYPE_CHECKING:
    from virtfleet.virt.sim.fleet import Fleet

LOG = logging.getLogger(__name__)

# Phases of a simulated migration at which a failure can be injected, and the error
# real libvirt typically reports when that phase fails.
MIGRATION_PHASES: dict[str, tuple[int, str]] = {
    "begin": (libvirt.VIR_ERR_OPERATION_INVALID, "cannot migrate domain: {reason}"),
    "prepare": (libvirt.VIR_ERR_INTERNAL_ERROR, "qemu unexpectedly closed the monitor: {reason}"),
    "perform": (libvirt.VIR_ERR_OPERATION_FAILED, "migration out job: {reason}"),
    "finish": (libvirt.VIR_ERR_OPERATION_FAILED, "migration in job: {reason}"),
}

Event = tuple[str, str, int, int]  # (domain uuid, domain name, event, detail)


@dataclass
class MigrationJob:
    """Progress of an outgoing migration, read by ``jobInfo``/``jobStats``."""

    total_bytes: int
    started: float = field(default_factory=time.monotonic)
    processed_bytes: int = 0
    aborted: threading.Event = field(default_factory=threading.Event)
    completed: bool = False
    flags: int = 0  # the migrateToURI3 flags (post-copy needs VIR_MIGRATE_POSTCOPY)
    paused_at: float | None = None  # the guest was suspended while this job copied
    paused_fraction: float = 0.0  # share copied when it was suspended

    def pause(self) -> None:
        """The guest stopped dirtying memory: the copy now converges (see ``fraction``)."""
        if self.paused_at is None and not self.completed:
            self.paused_at = time.monotonic()
            self.paused_fraction = (
                self.processed_bytes / self.total_bytes if self.total_bytes else 1.0
            )

    def fraction(self, now: float, duration: float, convergence: float) -> float:
        """Share copied at ``now`` for a copy of ``duration`` seconds; once the guest
        is paused, what is left goes in one last pass of at most ``convergence`` s."""
        running = 1.0 if duration <= 0 else min((now - self.started) / duration, 1.0)
        if self.paused_at is None:
            return running
        left = 1.0 - self.paused_fraction
        last_pass = 1.0 if convergence <= 0 else min((now - self.paused_at) / convergence, 1.0)
        return max(running, min(1.0, self.paused_fraction + left * last_pass))

    def stats(self) -> dict[str, int]:
        remaining = self.total_bytes - self.processed_bytes
        return {
            "type": libvirt.VIR_DOMAIN_JOB_COMPLETED
            if self.completed
            else libvirt.VIR_DOMAIN_JOB_UNBOUNDED,
            libvirt.VIR_DOMAIN_JOB_OPERATION: libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT,
            libvirt.VIR_DOMAIN_JOB_TIME_ELAPSED: int((time.monotonic() - self.started) * 1000),
            libvirt.VIR_DOMAIN_JOB_DATA_TOTAL: self.total_bytes,
            libvirt.VIR_DOMAIN_JOB_DATA_PROCESSED: self.processed_bytes,
            libvirt.VIR_DOMAIN_JOB_DATA_REMAINING: remaining,
            libvirt.VIR_DOMAIN_JOB_MEMORY_TOTAL: self.total_bytes,
            libvirt.VIR_DOMAIN_JOB_MEMORY_PROCESSED: self.processed_bytes,
            libvirt.VIR_DOMAIN_JOB_MEMORY_REMAINING: remaining,
        }


@dataclass
class DomainRecord:
    """One domain as the hypervisor keeps it."""

    definition: DomainDef
    persistent: bool = True
    state: int = libvirt.VIR_DOMAIN_SHUTOFF
    reason: int = libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN
    domain_id: int = -1
    started: float = 0.0
    job: MigrationJob | None = None
    last_job: MigrationJob | None = None
    pending: DomainDef | None = None  # redefined while running; applies at next start
    managed_save: bool = False  # a managed save image waits: the next start restores it
    # user -> password set through the simulated guest agent (tests read it)
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.state != libvirt.VIR_DOMAIN_SHUTOFF)


class HostView(Protocol):
    """A connection as the hypervisor and the domain and device handles see it
    (:class:`~virtfleet.virt.sim.connection.SimConnection`, which opens one)."""

    @property
    def hypervisor(self) -> SimHypervisor: ...

    def hypervisor_checked(self) -> SimHypervisor:
        """The hypervisor; raises ``VIR_ERR_INVALID_CONN`` once the connection is closed."""
        ...

    def domain_handle(self, uuid: str, name: str) -> object:
        """The domain handle an event callback receives."""
        ...


@dataclass(frozen=True)
class _Listener:
    connection: HostView
    domain_uuid: str | None
    event_id: int
    callback: Callable[..., object]
    opaque: object


@dataclass
class _Fault:
    code: int | None
    remaining: int


class SimHypervisor:
    """An in-memory libvirt/QEMU host built from a :class:`HostProfile`."""

    def __init__(self, profile: HostProfile, fleet: Fleet | None = None) -> None:
        self.profile = profile
        # Weak: the registry keys hypervisors by fleet; a strong reference back would
        # keep every fleet (and its hosts) alive forever.
        self._fleet = weakref.ref(fleet) if fleet is not None else None
        self.devices = NodeDevices(profile)
        self.migration_duration = profile.migration_seconds  # a migration's memory copy
        self.migration_convergence = 0.1  # seconds of the last pass once the guest is paused
        self.uuid = capabilities.host_uuid(profile.name)
        self._lock = threading.RLock()
        self._domains: dict[str, DomainRecord] = {}
        self._listeners: dict[int, _Listener] = {}
        self._faults: dict[str, _Fault] = {}
        self._ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._state_file: pathlib.Path | None = None

    def __repr__(self) -> str:
        return f"SimHypervisor({self.profile.name!r})"

    @property
    def fleet(self) -> Fleet | None:
        """The fleet this host belongs to (None for a standalone hypervisor)."""
        return self._fleet() if self._fleet is not None else None

    # ---- connections -----------------------------------------------------------------

    def persist_to(self, path: pathlib.Path) -> int:
        """Keep this host's domains in ``path`` from now on (see
        :mod:`~virtfleet.virt.sim.persistence`), first loading what it holds;
        returns how many domains were loaded. A saved domain this host's profile no
        longer accepts (the fleet file changed) is logged and left out."""
        loaded = 0
        with self._lock:
            for saved in persistence.read(path):
                try:
                    definition = parse_domain(saved.xml, self.profile)
                except libvirt.libvirtError as exc:
                    LOG.warning("simulated host %s: dropping a saved domain: %s",
                                self.profile.name, exc)  # fmt: skip
                    continue
                record = DomainRecord(definition, saved.persistent, saved.state, saved.reason)
                if record.active:
                    record.domain_id, record.started = next(self._ids), time.monotonic()
                self._domains[definition.uuid] = record
                loaded += 1
            self._state_file = path
            persistence.write(path, self._saved())
        return loaded

    def _saved(self) -> list[persistence.SavedDomain]:
        saved = []
        for record in self._domains.values():
            entry = persistence.saved_form(
                (record.pending or record.definition).xml,
                record.persistent,
                record.state,
                record.reason,
                migrating_out=record.job is not None,
            )
            if entry is not None:
                saved.append(entry)
        return saved

    @contextmanager
    def locked(self) -> Iterator[list[Event]]:
        """Hold the state lock; events appended to the yielded list fire afterwards
        (and a state file, when there is one, is written first)."""
        events: list[Event] = []
        try:
            with self._lock:
                try:
                    yield events
                finally:
                    if events and self._state_file is not None:
                        persistence.write(self._state_file, self._saved())
        finally:  # what happened before a failure still happened
            self._deliver(events)

    # ---- operator / test controls ----------------------------------------------------

    def crash(self, name: str) -> None:
        """Inject a guest crash of the running domain ``name`` (honours ``on_crash``)."""
        with self.locked() as events:
            record = self.record(self.uuid_of(name))
            self.require_active(record)
            uuid, name = record.definition.uuid, record.definition.name
            events.append(
                (
                    uuid,
                    name,
                    libvirt.VIR_DOMAIN_EVENT_CRASHED,
                    libvirt.VIR_DOMAIN_EVENT_CRASHED_PANICKED,
                )
            )
            action = record.definition.on_crash
            if action == "preserve":
                record.state, record.reason = (
                    libvirt.VIR_DOMAIN_CRASHED,
                    libvirt.VIR_DOMAIN_CRASHED_PANICKED,
                )
            elif action in ("restart", "rename-restart", "coredump-restart"):
                record.domain_id, record.started = next(self._ids), time.monotonic()
                events.append(
                    (
                        uuid,
                        name,
                        libvirt.VIR_DOMAIN_EVENT_STARTED,
                        libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED,
                    )
                )
            else:
                self.stop(
                    record,
                    libvirt.VIR_DOMAIN_SHUTOFF_CRASHED,
                    libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED,
                    events,
                )

    def inject_migration_failure(
        self, phase: str, *, code: int | None = None, times: int = 1
    ) -> None:
        """Make the next ``times`` migrations from or to this host fail at ``phase``."""
        if phase not in MIGRATION_PHASES:
            raise ValueError(f"unknown migration phase {phase!r}; known: {list(MIGRATION_PHASES)}")
        with self._lock:
            self._faults[phase] = _Fault(code, times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, phase: str) -> libvirt.libvirtError | None:
        """The injected failure for ``phase``, consumed, or None."""
        with self._lock:
            fault = self._faults.get(phase)
            if fault is None:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._faults[phase]
        default_code, template = MIGRATION_PHASES[phase]
        return libvirt_error(
            fault.code if fault.code is not None else default_code,
            template.format(reason=f"injected failure in phase '{phase}' on {self.profile.name}"),
        )

    # ---- domain state (callers hold the lock via locked()) ---------------------------

    def record(self, uuid: str) -> DomainRecord:
        record = self._domains.get(uuid)
        if record is None:
            raise libvirt_error(libvirt.VIR_ERR_NO_DOMAIN, f"no domain with matching uuid '{uuid}'")
        return record

    def uuid_of(self, name: str) -> str:
        for uuid, record in self._domains.items():
            if record.definition.name == name:
                return uuid
        raise libvirt_error(libvirt.VIR_ERR_NO_DOMAIN, f"no domain with matching name '{name}'")

    def records(self) -> list[DomainRecord]:
        return list(self._domains.values())

    def running_definitions(self) -> list[DomainDef]:
        return [record.definition for record in self._domains.values() if record.active]

    @staticmethod
    def require_active(record: DomainRecord) -> None:
        if not record.active:
            raise libvirt_error(libvirt.VIR_ERR_OPERATION_INVALID, "domain is not running")

    def define(self, xml: str, events: list[Event]) -> DomainRecord:
        definition = parse_domain(xml, self.profile)
        existing = self._domains.get(definition.uuid)
        for other in self._domains.values():
            if other.definition.name == definition.name and other is not existing:
                raise libvirt_error(
                    libvirt.VIR_ERR_OPERATION_FAILED,
                    f"domain '{definition.name}' already exists with uuid {other.definition.uuid}",
                )
        if existing is not None and existing.definition.name != definition.name:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_FAILED,
                f"domain '{existing.definition.name}' is already defined with uuid "
                f"{definition.uuid}",
            )
        if existing is None:
            record = DomainRecord(definition)
            self._domains[definition.uuid] = record
            detail = libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED
        else:
            record = existing
            if not record.active:
                record.definition = definition
            else:
                record.pending = definition
            record.persistent = True
            detail = libvirt.VIR_DOMAIN_EVENT_DEFINED_UPDATED
        events.append((definition.uuid, definition.name, libvirt.VIR_DOMAIN_EVENT_DEFINED, detail))
        return record

    def create_transient(self, xml: str, events: list[Event]) -> DomainRecord:
        definition = parse_domain(xml, self.profile)
        for other in self._domains.values():
            if definition.name == other.definition.name or definition.uuid == other.definition.uuid:
                raise libvirt_error(
                    libvirt.VIR_ERR_OPERATION_FAILED,
                    f"domain '{other.definition.name}' already exists with uuid "
                    f"{other.definition.uuid}",
                )
        record = DomainRecord(definition, persistent=False)
        self.start(record, events)
        self._domains[definition.uuid] = record
        return record

    def start(self, record: DomainRecord, events: list[Event], *, reason: int = 0) -> None:
        if record.active:
            raise libvirt_error(libvirt.VIR_ERR_OPERATION_INVALID, "domain is already running")
        if record.pending is not None:
            record.definition, record.pending = record.pending, None
        check_start(record.definition, self.profile, self.devices, self.running_definitions())
        restored, record.managed_save = record.managed_save, False
        if restored and not reason:
            reason = libvirt.VIR_DOMAIN_RUNNING_RESTORED
        record.state = libvirt.VIR_DOMAIN_RUNNING
        record.reason = reason or libvirt.VIR_DOMAIN_RUNNING_BOOTED
        record.domain_id, record.started = next(self._ids), time.monotonic()
        migrated = reason == libvirt.VIR_DOMAIN_RUNNING_MIGRATED
        detail = (
            libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED
            if migrated
            else libvirt.VIR_DOMAIN_EVENT_STARTED_RESTORED
            if restored
            else libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED
        )
        if not migrated:  # QEMU starts paused; libvirt resumes it, then reports the start
            events.append(
                (
                    record.definition.uuid,
                    record.definition.name,
                    libvirt.VIR_DOMAIN_EVENT_RESUMED,
                    libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED,
                )
            )
        events.append(
            (
                record.definition.uuid,
                record.definition.name,
                libvirt.VIR_DOMAIN_EVENT_STARTED,
                detail,
            )
        )

    def suspend(self, record: DomainRecord, events: list[Event]) -> None:
        """Pause the guest's vCPUs (``virDomainSuspend``); a no-op when paused. During
        an outgoing migration the pause is the migration's (reason paused/migration,
        event suspended/migrated, as libvirt reports it) and lets the copy converge."""
        self.require_active(record)
        if record.state == libvirt.VIR_DOMAIN_PAUSED:
            return
        migrating = record.job is not None and not record.job.completed
        if migrating:
            assert record.job is not None
            record.job.pause()
        record.state = libvirt.VIR_DOMAIN_PAUSED
        record.reason = (
            libvirt.VIR_DOMAIN_PAUSED_MIGRATION if migrating else libvirt.VIR_DOMAIN_PAUSED_USER
        )
        detail = (
            libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED
            if migrating
            else libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED
        )
        events.append(
            (
                record.definition.uuid,
                record.definition.name,
                libvirt.VIR_DOMAIN_EVENT_SUSPENDED,
                detail,
            )
        )

    def managed_save(self, record: DomainRecord, events: list[Event]) -> None:
        """``virDomainManagedSave``: save the guest's memory and stop it; the next start
        restores it. Refused for a transient domain or one that migrates out."""
        self.require_active(record)
        if not record.persistent:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_INVALID, "cannot do managed save for transient domain"
            )
        if record.job is not None and not record.job.completed:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_INVALID, "domain has active job: outgoing migration"
            )
        self.stop(
            record,
            libvirt.VIR_DOMAIN_SHUTOFF_SAVED,
            libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED,
            events,
        )
        record.managed_save = True

    def resume(self, record: DomainRecord, events: list[Event]) -> None:
        """Run a paused guest again (``virDomainResume``); a no-op when it runs. While
        it migrates out, libvirt holds the domain's job and a resume times out."""
        self.require_active(record)
        if record.job is not None and not record.job.completed:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_TIMEOUT,
                "Timed out during operation: cannot acquire state change lock "
                "(held by monitor=remoteDispatchDomainMigratePerform3Params)",
            )
        if record.state != libvirt.VIR_DOMAIN_PAUSED:
            return
        record.state, record.reason = (
            libvirt.VIR_DOMAIN_RUNNING,
            libvirt.VIR_DOMAIN_RUNNING_UNPAUSED,
        )
        events.append(
            (
                record.definition.uuid,
                record.definition.name,
                libvirt.VIR_DOMAIN_EVENT_RESUMED,
                libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED,
            )
        )

    def stop(self, record: DomainRecord, reason: int, detail: int, events: list[Event]) -> None:
        record.state, record.reason = libvirt.VIR_DOMAIN_SHUTOFF, reason
        record.domain_id = -1
        if record.pending is not None:
            record.definition, record.pending = record.pending, None
        if record.job is not None:
            record.job.aborted.set()
        events.append(
            (
                record.definition.uuid,
                record.definition.name,
                libvirt.VIR_DOMAIN_EVENT_STOPPED,
                detail,
            )
        )
        if not record.persistent:
            del self._domains[record.definition.uuid]

    def undefine(self, record: DomainRecord, events: list[Event]) -> None:
        if not record.persistent:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_INVALID, "cannot undefine transient domain"
            )
        uuid = record.definition.uuid
        events.append(
            (
                uuid,
                record.definition.name,
                libvirt.VIR_DOMAIN_EVENT_UNDEFINED,
                libvirt.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED,
            )
        )
        if record.active:
            record.persistent = False
        else:
            del self._domains[uuid]

    def install(self, record: DomainRecord) -> None:
        """Add a domain arriving by migration (the caller checked for conflicts)."""
        self._domains[record.definition.uuid] = record

    def next_id(self) -> int:
        return next(self._ids)

    def xml_of(self, record: DomainRecord, flags: int) -> str:
        inactive = flags & libvirt.VIR_DOMAIN_XML_INACTIVE
        if record.active and not inactive:
            return live_xml(record.definition, record.domain_id)
        return (record.pending or record.definition).xml

    # ---- events ----------------------------------------------------------------------

    def add_listener(
        self,
        connection: HostView,
        domain_uuid: str | None,
        event_id: int,
        callback: Callable[..., object],
        opaque: object,
    ) -> int:
        with self._lock:
            callback_id = next(self._callback_ids)
            self._listeners[callback_id] = _Listener(
                connection, domain_uuid, event_id, callback, opaque
            )
            return callback_id

    def remove_listener(self, callback_id: int) -> None:
        with self._lock:
            if self._listeners.pop(callback_id, None) is None:
                raise libvirt_error(
                    libvirt.VIR_ERR_INVALID_ARG,
                    f"could not find event callback {callback_id} for deletion",
                    libvirt.VIR_FROM_NONE,
                )

    def remove_listeners_of(self, connection: HostView) -> None:
        with self._lock:
            for callback_id, listener in list(self._listeners.items()):
                if listener.connection is connection:
                    del self._listeners[callback_id]

    def _deliver(self, events: list[Event]) -> None:
        """Queue ``events`` for the event thread (see :mod:`virtfleet.virt.sim.events`)."""
        if not events:
            return
        with self._lock:
            listeners = [
                listener
                for listener in self._listeners.values()
                if listener.event_id == libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
            ]
        if listeners:
            DISPATCHER.submit(functools.partial(self._run_callbacks, listeners, events))

    def _run_callbacks(self, listeners: list[_Listener], events: list[Event]) -> None:
        for uuid, name, event, detail in events:
            for listener in listeners:
                if listener.domain_uuid not in (None, uuid):
                    continue
                with self._lock:  # deregistered or closed since the event happened
                    if listener not in self._listeners.values():
                        continue
                domain = listener.connection.domain_handle(uuid, name)
                try:
                    listener.callback(listener.connection, domain, event, detail, listener.opaque)
                except Exception:  # like libvirt's loop: log, go on with the next one
                    LOG.exception("lifecycle callback for %s failed", name)

    @staticmethod
    def wait_for_events(timeout: float = 5.0) -> bool:
        """Block until every event raised so far was delivered (True) or timeout."""
        return DISPATCHER.wait(timeout)
