"""Force-complete below the API: the simulated hypervisor pauses a migrating guest as
libvirt does (paused/migration, event suspended/migrated), the copy then converges in
one short last pass and the destination resumes the guest; the driver's
``force_complete`` refuses without a running migration and never switches to post-copy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import libvirt
import pytest
from tests.unit.virt.sim.conftest import domain_xml

from virtfleet import errors
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt import migration as driver_migration
from virtfleet.virt.sim import Fleet, SimConnection, default_fleet, hypervisor_for
from virtfleet.virt.sim.domain import SimDomain
from virtfleet.virt.sim.events import wait_for_events

MOVE = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PEER2PEER
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)
SLOW = 30.0  # seconds the migration would take without the pause


@pytest.fixture
def fleet() -> Fleet:
    built = default_fleet()
    hypervisor_for(built, "kvm-1").migration_duration = SLOW
    return built


@pytest.fixture
def connect(fleet: Fleet) -> Callable[[str], SimConnection]:
    def opener(host: str) -> SimConnection:
        conn: SimConnection = open_connection(f"sim://{host}", fleet)
        return conn

    return opener


class Migration:
    """``migrateToURI3`` in a thread; ``join`` returns its error, if any."""

    def __init__(self, dom: SimDomain) -> None:
        self.error: libvirt.libvirtError | None = None
        self.started = time.monotonic()
        self.finished = 0.0
        self._thread = threading.Thread(target=self._run, args=(dom,), daemon=True)
        self._thread.start()

    def _run(self, dom: SimDomain) -> None:
        try:
            dom.migrateToURI3("sim://kvm-2", {}, MOVE)
        except libvirt.libvirtError as exc:
            self.error = exc
        self.finished = time.monotonic()

    def join(self, timeout: float = 10) -> libvirt.libvirtError | None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the migration did not end"
        return self.error


@pytest.fixture
def guest(connect: Callable[[str], SimConnection]) -> Iterator[SimDomain]:
    dom = connect("kvm-1").defineXML(domain_xml("g", memory_mib=512))
    dom.create()
    yield dom


def copying(dom: SimDomain) -> Migration:
    """Start the slow migration of ``dom`` and wait until it copies memory."""
    migration = Migration(dom)
    deadline = time.monotonic() + 5
    while dom.jobStats(0).get(libvirt.VIR_DOMAIN_JOB_MEMORY_PROCESSED, 0) <= 0:
        assert time.monotonic() < deadline, "the migration never started copying"
        time.sleep(0.01)
    return migration


def record_events(conn: SimConnection) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    conn.domainEventRegisterAny(
        None,
        libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        lambda c, d, event, detail, o: seen.append((event, detail)),
        None,
    )
    return seen


def test_a_paused_migration_converges_and_resumes_on_the_destination(
    connect: Callable[[str], SimConnection], guest: SimDomain
) -> None:
    source, destination = connect("kvm-1"), connect("kvm-2")
    src_events, dst_events = record_events(source), record_events(destination)
    migration = copying(guest)
    driver_migration.force_complete(guest)
    assert migration.join() is None
    assert migration.finished - migration.started < SLOW / 10
    moved = destination.lookupByUUIDString(guest.UUIDString())
    assert moved.state() == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_MIGRATED]
    assert source.listAllDomains(0) == []
    assert wait_for_events()
    assert src_events == [  # one pause (the forced one), then the guest left
        (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED),
    ]
    assert dst_events == [
        (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED),
        (libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED),
        (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED),
    ]


def test_while_paused_the_guest_is_paused_for_the_migration_and_cannot_be_resumed(
    fleet: Fleet, guest: SimDomain
) -> None:
    hypervisor_for(fleet, "kvm-1").migration_convergence = 2.0  # a long last pass
    migration = copying(guest)
    before = guest.jobStats(0)[libvirt.VIR_DOMAIN_JOB_MEMORY_REMAINING]
    guest.suspend()
    assert guest.state() == [libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_MIGRATION]
    guest.suspend()  # paused already: nothing changes, no error (as libvirt)
    with pytest.raises(libvirt.libvirtError) as refused:
        guest.resume()
    assert refused.value.get_error_code() == libvirt.VIR_ERR_OPERATION_TIMEOUT
    time.sleep(0.5)
    remaining = guest.jobStats(0)[libvirt.VIR_DOMAIN_JOB_MEMORY_REMAINING]
    assert 0 < remaining < before  # the last pass copies what was left
    guest.abortJob()
    error = migration.join()
    assert error is not None and error.get_error_code() == libvirt.VIR_ERR_OPERATION_ABORTED
    # an aborted forced migration leaves the guest running on the source, as before
    assert guest.state() == [
        libvirt.VIR_DOMAIN_RUNNING,
        libvirt.VIR_DOMAIN_RUNNING_MIGRATION_CANCELED,
    ]


def test_a_failure_after_the_forced_pause_resumes_the_guest_on_the_source(
    fleet: Fleet, connect: Callable[[str], SimConnection], guest: SimDomain
) -> None:
    hypervisor_for(fleet, "kvm-2").inject_migration_failure("finish")
    migration = copying(guest)
    driver_migration.force_complete(guest)
    error = migration.join()
    assert error is not None and error.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
    assert guest.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert connect("kvm-2").listAllDomains(0) == []


def test_force_complete_without_a_migration_is_a_conflict_and_leaves_the_guest_running(
    guest: SimDomain,
) -> None:
    with pytest.raises(errors.Conflict, match="no migration of g is running"):
        driver_migration.force_complete(guest)
    assert guest.state() == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED]


def test_suspend_without_a_migration_is_a_user_pause(guest: SimDomain) -> None:
    guest.suspend()
    assert guest.state() == [libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_USER]
    guest.resume()
    assert guest.state() == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_UNPAUSED]


class FakeDomain:
    """A domain with a migration job whose suspend pauses it with ``paused_reason``:
    paused/migration normally, paused/user when the job ended between the driver's
    check and its pause. Records the calls the driver makes."""

    def __init__(self, paused_reason: int) -> None:
        self.calls: list[str] = []
        self._paused_reason = paused_reason
        self._state = [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_MIGRATED]

    def name(self) -> str:
        return "fake"

    def jobStats(self, flags: int = 0) -> dict[str, int]:  # libvirt's name
        return {"type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED}

    def suspend(self) -> int:
        self.calls.append("suspend")
        self._state = [libvirt.VIR_DOMAIN_PAUSED, self._paused_reason]
        return 0

    def resume(self) -> int:
        self.calls.append("resume")
        self._state = [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_UNPAUSED]
        return 0

    def state(self, flags: int = 0) -> list[int]:
        return list(self._state)

    def migrateStartPostCopy(self, flags: int = 0) -> int:  # libvirt's name
        self.calls.append("post-copy")
        return 0


def test_a_pause_that_lost_the_race_with_the_end_of_the_job_is_undone() -> None:
    racer = FakeDomain(libvirt.VIR_DOMAIN_PAUSED_USER)
    with pytest.raises(errors.Conflict, match="ended before it could be forced"):
        driver_migration.force_complete(racer)
    assert racer.calls == ["suspend", "resume"]
    assert racer.state()[0] == libvirt.VIR_DOMAIN_RUNNING


def test_force_complete_only_pauses_never_post_copy() -> None:
    domain = FakeDomain(libvirt.VIR_DOMAIN_PAUSED_MIGRATION)  # offers post-copy too
    driver_migration.force_complete(domain)
    assert domain.calls == ["suspend"]


def test_the_simulator_refuses_post_copy_for_a_migration_not_started_for_it(
    guest: SimDomain,
) -> None:
    migration = copying(guest)
    with pytest.raises(libvirt.libvirtError) as refused:
        guest.migrateStartPostCopy(0)
    assert refused.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    assert "VIR_MIGRATE_POSTCOPY" in str(refused.value.get_error_message())
    driver_migration.force_complete(guest)
    assert migration.join() is None
