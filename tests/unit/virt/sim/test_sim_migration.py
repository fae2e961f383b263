"""Live migration between simulated hosts: success, every refusal, injected faults, abort."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import libvirt
import pytest

from support.ci import time_bound
from virtfleet.virt.sim import MIGRATION_PHASES, Fleet, SimConnection, hypervisor_for, load_fleet
from virtfleet.virt.sim.domain import SimDomain
from virtfleet.virt.sim.events import wait_for_events

from .conftest import domain_xml, mdev_device_xml, mdev_hostdev, pci_hostdev

LIVE = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
MOVE = LIVE | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
SRC_MDEV = "3627463d-b7f0-4fea-b468-f1da537d301b"
DST_MDEV = "9a0f4f2b-0c52-4d53-9f25-2f3b7e7d0a11"


@pytest.fixture(autouse=True)
def quick_migrations(fleet: Fleet) -> None:
    for name in fleet.names:
        hypervisor_for(fleet, name).migration_duration = 0.02


def running_guest(conn: SimConnection, name: str = "g", **kwargs: Any) -> SimDomain:
    dom = conn.defineXML(domain_xml(name, **kwargs))
    dom.create()
    return dom


def error_of(call: Callable[[], object]) -> libvirt.libvirtError:
    with pytest.raises(libvirt.libvirtError) as excinfo:
        call()
    return excinfo.value


def assert_untouched(source: SimConnection, destination: SimConnection, dom: SimDomain) -> None:
    """A failed migration leaves the guest running on the source, nothing elsewhere."""
    state, reason = dom.state()
    assert state == libvirt.VIR_DOMAIN_RUNNING
    # resumed after the final pause (a failure in finish), or never paused
    assert reason in (
        libvirt.VIR_DOMAIN_RUNNING_BOOTED,
        libvirt.VIR_DOMAIN_RUNNING_MIGRATION_CANCELED,
    )
    assert dom.jobInfo()[0] == libvirt.VIR_DOMAIN_JOB_NONE
    assert destination.listAllDomains(0) == []


def test_migration_moves_a_persistent_guest(connect: Callable[[str], SimConnection]) -> None:
    source, destination = connect("kvm-1"), connect("kvm-2")
    dom = running_guest(source, memory_mib=256)
    uuid = dom.UUIDString()
    src_events: list[tuple[int, int]] = []
    dst_events: list[tuple[str, int, int]] = []
    source.domainEventRegisterAny(
        None,
        libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        lambda c, d, e, detail, o: src_events.append((e, detail)),
        None,
    )
    destination.domainEventRegisterAny(
        None,
        libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        lambda c, d, e, detail, o: dst_events.append((d.name(), e, detail)),
        None,
    )
    assert dom.migrateToURI3("sim://kvm-2", {}, MOVE) == 0
    moved = destination.lookupByUUIDString(uuid)
    assert moved.state() == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_MIGRATED]
    assert moved.isPersistent() == 1 and moved.info()[1] == 256 * 1024
    assert source.listAllDomains(0) == []
    assert wait_for_events()
    assert src_events == [  # libvirt 9.0 sends no undefined event for UNDEFINE_SOURCE
        (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED),
    ]
    assert dst_events == [
        ("g", libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED),
        ("g", libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED),
        ("g", libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED),
    ]
    moved.migrateToURI3("sim://kvm-1", {}, MOVE)  # and back
    assert source.lookupByName("g").isActive() == 1


def test_without_flags_the_source_keeps_a_stopped_definition(
    connect: Callable[[str], SimConnection],
) -> None:
    source, destination = connect("kvm-1"), connect("kvm-2")
    dom = running_guest(source)
    dom.migrateToURI3("sim://kvm-2", {}, LIVE)
    assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_MIGRATED]
    stats = dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    assert stats["type"] == libvirt.VIR_DOMAIN_JOB_COMPLETED
    assert stats[libvirt.VIR_DOMAIN_JOB_DATA_REMAINING] == 0
    moved = destination.lookupByName("g")
    assert moved.isPersistent() == 0  # no PERSIST_DEST: transient on the destination
    moved.destroy()
    assert destination.listAllDomains(0) == []


def test_progress_is_visible_and_abort_leaves_the_guest_on_the_source(
    fleet: Fleet, connect: Callable[[str], SimConnection]
) -> None:
    source, destination = connect("kvm-1"), connect("kvm-2")
    hypervisor_for(fleet, "kvm-1").migration_duration = 5.0
    dom = running_guest(source, memory_mib=1024)
    errors: list[libvirt.libvirtError] = []

    def migrate() -> None:
        try:
            dom.migrateToURI3("sim://kvm-2", {}, MOVE)
        except libvirt.libvirtError as exc:
            errors.append(exc)

    thread = threading.Thread(target=migrate)
    thread.start()
    deadline = time.monotonic() + 3
    while dom.jobInfo()[4] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    info = dom.jobInfo()
    assert info[0] == libvirt.VIR_DOMAIN_JOB_UNBOUNDED
    assert info[3] == 1024 * 1024 * 1024 and 0 < info[4] < info[3]
    assert dom.jobStats(0)[libvirt.VIR_DOMAIN_JOB_OPERATION] == (
        libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT
    )
    second = error_of(lambda: dom.migrateToURI3("sim://kvm-3", {}, MOVE))
    assert second.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    started = time.monotonic()
    assert dom.abortJob() == 0
    thread.join(timeout=5)
    assert time.monotonic() - started < time_bound(1.0)
    (error,) = errors
    assert error.get_error_code() == libvirt.VIR_ERR_OPERATION_ABORTED
    assert_untouched(source, destination, dom)


PHASE_CODES = {
    "begin": libvirt.VIR_ERR_OPERATION_INVALID,
    "prepare": libvirt.VIR_ERR_INTERNAL_ERROR,
    "perform": libvirt.VIR_ERR_OPERATION_FAILED,
    "finish": libvirt.VIR_ERR_OPERATION_FAILED,
}


@pytest.mark.parametrize("phase", sorted(MIGRATION_PHASES))
@pytest.mark.parametrize("on", ["kvm-1", "kvm-2"])
def test_injected_failure_in_each_phase_rolls_back(
    phase: str, on: str, fleet: Fleet, connect: Callable[[str], SimConnection]
) -> None:
    source, destination = connect("kvm-1"), connect("kvm-2")
    dom = running_guest(source)
    hypervisor_for(fleet, on).inject_migration_failure(phase)
    error = error_of(lambda: dom.migrateToURI3("sim://kvm-2", {}, MOVE))
    assert error.get_error_code() == PHASE_CODES[phase]
    assert f"injected failure in phase '{phase}' on {on}" in str(error)
    assert_untouched(source, destination, dom)
    dom.migrateToURI3("sim://kvm-2", {}, MOVE)  # the fault fired once
    assert destination.lookupByName("g").isActive() == 1


@pytest.mark.parametrize(
    ("phase", "reason", "events"),
    [
        ("perform", libvirt.VIR_DOMAIN_RUNNING_BOOTED, []),
        (
            "finish",
            libvirt.VIR_DOMAIN_RUNNING_MIGRATION_CANCELED,
            [
                (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED),
                (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED),
            ],
        ),
    ],
)
def test_source_is_paused_only_for_the_last_step(
    phase: str,
    reason: int,
    events: list[tuple[int, int]],
    fleet: Fleet,
    connect: Callable[[str], SimConnection],
) -> None:
    """Paused before finish (libvirt's final memory pass); resumed when finish fails."""
    source = connect("kvm-1")
    dom = running_guest(source)
    seen: list[tuple[int, int]] = []
    source.domainEventRegisterAny(
        None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda c, d, e, x, o: seen.append((e, x)), None
    )
    hypervisor_for(fleet, "kvm-2").inject_migration_failure(phase)
    error_of(lambda: dom.migrateToURI3("sim://kvm-2", {}, MOVE))
    assert wait_for_events()
    assert seen == events
    assert dom.state() == [libvirt.VIR_DOMAIN_RUNNING, reason]


def test_injected_failure_with_own_code_and_count(
    fleet: Fleet, connect: Callable[[str], SimConnection]
) -> None:
    source = connect("kvm-1")
    dom = running_guest(source)
    hypervisor = hypervisor_for(fleet, "kvm-1")
    hypervisor.inject_migration_failure("perform", code=libvirt.VIR_ERR_OPERATION_TIMEOUT, times=2)
    for _ in range(2):
        error = error_of(lambda: dom.migrateToURI3("sim://kvm-2", {}, MOVE))
        assert error.get_error_code() == libvirt.VIR_ERR_OPERATION_TIMEOUT
    hypervisor.inject_migration_failure("begin")
    hypervisor.clear_faults()
    dom.migrateToURI3("sim://kvm-2", {}, MOVE)
    with pytest.raises(ValueError, match="unknown migration phase 'confirmx'"):
        hypervisor.inject_migration_failure("confirmx")


def test_destination_xml_is_applied_and_validated_there(
    connect: Callable[[str], SimConnection],
) -> None:
    source, destination = connect("kvm-1"), connect("kvm-2")
    dom = running_guest(source, vcpus=1)
    uuid = dom.UUIDString()
    bad = domain_xml("g", uuid=uuid, arch="aarch64", machine="q35", domain_type="qemu")
    error = error_of(
        lambda: dom.migrateToURI3("sim://kvm-2", {libvirt.VIR_MIGRATE_PARAM_DEST_XML: bad}, MOVE)
    )
    assert error.get_error_code() == libvirt.VIR_ERR_CONFIG_UNSUPPORTED
    assert_untouched(source, destination, dom)
    other_uuid = domain_xml("g", uuid="11111111-2222-3333-4444-555555555555")
    error = error_of(
        lambda: dom.migrateToURI3(
            "sim://kvm-2", {libvirt.VIR_MIGRATE_PARAM_DEST_XML: other_uuid}, MOVE
        )
    )
    assert error.get_error_code() == libvirt.VIR_ERR_CONFIG_UNSUPPORTED
    assert "does not match source" in str(error)
    good = domain_xml("g", uuid=uuid, vcpus=3)
    dom.migrateToURI3("sim://kvm-2", {libvirt.VIR_MIGRATE_PARAM_DEST_XML: good}, MOVE)
    assert destination.lookupByUUIDString(uuid).info()[3] == 3


def test_destination_checks_what_it_can_run(connect: Callable[[str], SimConnection]) -> None:
    source, arm = connect("kvm-1"), connect("arm-1")
    dom = running_guest(source)  # x86_64 under KVM: arm-1 only emulates x86_64
    error = error_of(lambda: dom.migrateToURI3("sim://arm-1", {}, MOVE))
    assert error.get_error_code() == libvirt.VIR_ERR_CONFIG_UNSUPPORTED
    assert "does not support virt type 'kvm'" in str(error)
    assert_untouched(source, arm, dom)


def test_destination_name_clash(connect: Callable[[str], SimConnection]) -> None:
    source, destination = connect("kvm-1"), connect("kvm-2")
    destination.defineXML(domain_xml("g"))
    dom = running_guest(source)
    error = error_of(lambda: dom.migrateToURI3("sim://kvm-2", {}, MOVE))
    assert error.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
    assert dom.isActive() == 1


@pytest.mark.parametrize(
    ("uri", "code", "message"),
    [
        (
            "sim://kvm-1",
            libvirt.VIR_ERR_INTERNAL_ERROR,
            "Attempt to migrate guest to the same host",
        ),
        ("sim://nowhere", libvirt.VIR_ERR_SYSTEM_ERROR, "unable to connect to server at 'nowhere'"),
        ("qemu+tcp://kvm-2/system", libvirt.VIR_ERR_NO_CONNECT, "can only migrate to sim://"),
    ],
)
def test_bad_destinations(
    uri: str, code: int, message: str, connect: Callable[[str], SimConnection]
) -> None:
    dom = running_guest(connect("kvm-1"))
    error = error_of(lambda: dom.migrateToURI3(uri, {}, MOVE))
    assert error.get_error_code() == code and message in str(error)
    assert dom.isActive() == 1


def test_stopped_guest_cannot_live_migrate(connect: Callable[[str], SimConnection]) -> None:
    dom = connect("kvm-1").defineXML(domain_xml("g"))
    error = error_of(lambda: dom.migrateToURI3("sim://kvm-2", {}, MOVE))
    assert error.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID


def vgpu_guest(source: SimConnection, destination: SimConnection) -> SimDomain:
    source.nodeDeviceCreateXML(mdev_device_xml("pci_0000_3b_00_0", uuid=SRC_MDEV), 0)
    destination.nodeDeviceCreateXML(mdev_device_xml("pci_0000_af_00_0", uuid=DST_MDEV), 0)
    return running_guest(source, devices=mdev_hostdev(SRC_MDEV))


def test_vgpu_guest_migrates_with_rewritten_mdev(connect: Callable[[str], SimConnection]) -> None:
    source, destination = connect("vgpu-1"), connect("vgpu-2")
    dom = vgpu_guest(source, destination)
    unchanged = error_of(lambda: dom.migrateToURI3("sim://vgpu-2", {}, MOVE))
    assert unchanged.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR
    assert SRC_MDEV in str(unchanged)
    assert_untouched(source, destination, dom)
    rewritten = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).replace(SRC_MDEV, DST_MDEV)
    params = {libvirt.VIR_MIGRATE_PARAM_DEST_XML: rewritten}
    postcopy = error_of(
        lambda: dom.migrateToURI3("sim://vgpu-2", params, MOVE | libvirt.VIR_MIGRATE_POSTCOPY)
    )
    assert postcopy.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    dom.migrateToURI3("sim://vgpu-2", params, MOVE)
    moved = destination.lookupByName("g")
    assert DST_MDEV in moved.XMLDesc(0) and SRC_MDEV not in moved.XMLDesc(0)
    # The source's mdev is free again: another guest can use it.
    running_guest(source, "next", devices=mdev_hostdev(SRC_MDEV))


def test_vgpu_migration_needs_new_enough_libvirt_and_qemu() -> None:
    fleet = load_fleet(
        """
        defaults:
          arch: x86_64
          gpus: [{address: "0000:3b:00.0", mdev_types: {nvidia-222: {available: 4}}}]
        hosts:
          - {name: new}
          - {name: old-libvirt, libvirt_version: "8.5.0"}
          - {name: old-qemu, qemu_version: "8.0.0"}
        """
    )
    source = SimConnection(hypervisor_for(fleet, "new"))
    source.nodeDeviceCreateXML(mdev_device_xml("pci_0000_3b_00_0", uuid=SRC_MDEV), 0)
    dom = running_guest(source, devices=mdev_hostdev(SRC_MDEV))
    for target, version in (("old-libvirt", "8.5.0"), ("old-qemu", "8.0.0")):
        error = error_of(lambda t=target: dom.migrateToURI3(f"sim://{t}", {}, MOVE))
        assert error.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
        assert f"{target} has" in str(error) and version in str(error)


def test_pci_passthrough_guest_cannot_migrate(connect: Callable[[str], SimConnection]) -> None:
    dom = running_guest(connect("slice-1"), devices=pci_hostdev("0x1a"))
    error = error_of(lambda: dom.migrateToURI3("sim://kvm-1", {}, MOVE))
    assert error.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    assert "non-USB host devices" in str(error)


def test_standalone_hypervisor_has_nowhere_to_migrate(fleet: Fleet) -> None:
    from virtfleet.virt.sim import SimHypervisor

    conn = SimConnection(SimHypervisor(fleet.host("kvm-1")))
    dom = running_guest(conn)
    error = error_of(lambda: dom.migrateToURI3("sim://kvm-2", {}, MOVE))
    assert error.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED


def test_older_qemu_cannot_take_a_newer_machine_type(
    connect: Callable[[str], SimConnection],
) -> None:
    source, old = connect("kvm-1"), connect("old-1")
    dom = running_guest(source)  # q35 -> pc-q35-8.2 on QEMU 8.2
    error = error_of(lambda: dom.migrateToURI3("sim://old-1", {}, MOVE))
    assert error.get_error_code() == libvirt.VIR_ERR_CONFIG_UNSUPPORTED
    assert "does not support machine type 'pc-q35-8.2'" in str(error)
    assert_untouched(source, old, dom)
