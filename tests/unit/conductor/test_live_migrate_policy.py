"""Pure helpers of live migration: version gates, block-migration choice, flags and
parameters, progress, failure status and the refusal message."""

from __future__ import annotations

import libvirt
import pytest

from virtfleet import errors
from virtfleet.conductor.moves import policy
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.virt.libvirt import migration


def data(**extra: object) -> LibvirtLiveMigrateData:
    return LibvirtLiveMigrateData(
        migration_uuid="1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d",
        instance_uuid="6f1c9a4e-8f0b-4d0e-9a7d-0c8d2b7c1a11",
        source_host="a",
        dest_host="b",
        **extra,
    )


@pytest.mark.parametrize(
    ("libvirt_version", "qemu_version", "refused"),
    [
        ("8.6.0", "8.1.0", False),
        ("9.0.0", "8.2.0", False),
        ("8.5.0", "8.2.0", True),
        ("9.0.0", "8.0.9", True),
        (None, "8.2.0", True),
        ("junk", "8.2.0", True),
    ],
)
def test_mdev_version_gate(libvirt_version: str | None, qemu_version: str, refused: bool) -> None:
    reason = migration.mdev_version_refusal("destination", libvirt_version, qemu_version)
    assert (reason is not None) is refused
    if reason:
        assert "destination host is too old" in reason
        assert "libvirt >= 8.6.0 and QEMU >= 8.1.0" in reason
        assert f"libvirt {libvirt_version or 'unknown'}" in reason


@pytest.mark.parametrize(
    ("requested", "shared", "expected"),
    [("auto", True, False), ("auto", False, True), (True, False, True), (False, True, False)],
)
def test_block_migration_choice(requested: bool | str, shared: bool, expected: bool) -> None:
    assert migration.resolve_block_migration(requested, shared) is expected


@pytest.mark.parametrize(("requested", "shared"), [(True, True), (False, False)])
def test_block_migration_contradicting_storage_is_refused(requested: bool, shared: bool) -> None:
    with pytest.raises(errors.InvalidInput, match=r"block|shared"):
        migration.resolve_block_migration(requested, shared)


def test_flags_are_live_p2p_persistent_never_postcopy() -> None:
    flags = migration.migration_flags(data())
    for flag in (
        libvirt.VIR_MIGRATE_LIVE,
        libvirt.VIR_MIGRATE_PEER2PEER,
        libvirt.VIR_MIGRATE_PERSIST_DEST,
        libvirt.VIR_MIGRATE_UNDEFINE_SOURCE,
    ):
        assert flags & flag
    assert not flags & libvirt.VIR_MIGRATE_POSTCOPY
    assert not flags & libvirt.VIR_MIGRATE_NON_SHARED_INC
    assert (
        migration.migration_flags(data(block_migration=True)) & libvirt.VIR_MIGRATE_NON_SHARED_INC
    )


def test_shared_instance_directory_is_declared_unsafe_for_libvirt() -> None:
    assert not migration.migration_flags(data()) & libvirt.VIR_MIGRATE_UNSAFE
    shared = migration.migration_flags(data(is_shared_instance_path=True))
    assert shared & libvirt.VIR_MIGRATE_UNSAFE  # libvirt cannot see the sharing itself
    copied = migration.migration_flags(data(is_shared_instance_path=True, block_migration=True))
    assert not copied & libvirt.VIR_MIGRATE_UNSAFE


def test_params_carry_uri_bandwidth_and_xml_only_when_set() -> None:
    assert migration.migration_params(data(), None) == {}
    params = migration.migration_params(
        data(data_uri="unix:///tmp/x.sock", bandwidth_mib=100), "<domain/>"
    )
    assert params == {
        libvirt.VIR_MIGRATE_PARAM_URI: "unix:///tmp/x.sock",
        libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 100,
        libvirt.VIR_MIGRATE_PARAM_DEST_XML: "<domain/>",
    }


def test_version_text_and_progress_percent() -> None:
    assert migration.version_text(9_000_000) == "9.0.0"
    assert migration.version_text(8_002_001) == "8.2.1"
    assert migration.Progress().percent == 0
    assert migration.Progress(memory_total=200, memory_processed=50).percent == 25


def test_failure_status() -> None:
    aborted = errors.HypervisorError("canceled", libvirt.VIR_ERR_OPERATION_ABORTED)
    failed = errors.HypervisorError("broken", libvirt.VIR_ERR_OPERATION_FAILED)
    assert policy.failure_status(aborted, abort_requested=False) == "cancelled"
    assert policy.failure_status(failed, abort_requested=True) == "cancelled"
    assert policy.failure_status(failed, abort_requested=False) == "failed"
    assert policy.failure_status(policy.MigrationCancelled("x"), False) == "cancelled"


def test_refusal_message_names_each_host() -> None:
    message = policy.refusal_message(
        "u-1", [("b", "too old"), ("c", "no agent")], "0 of 3 hosts offer X"
    )
    assert message == (
        "Live migration of u-1: 2 hosts refused — b: too old; c: no agent; "
        "no further host: 0 of 3 hosts offer X"
    )
    assert (
        policy.refusal_message("u-1", [], "nothing fits") == "Live migration of u-1: nothing fits"
    )


def test_timeout_decision() -> None:
    assert policy.should_abort_for_time(11, 10)
    assert not policy.should_abort_for_time(9, 10)
    assert not policy.should_abort_for_time(1e9, 0)


@pytest.mark.parametrize(
    ("event", "detail", "moving"),
    [
        (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED, True),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED, True),
        (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED, True),
        (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED, True),
        # the same details under another event, and real power changes, still count
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED, False),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED, False),
        (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED, False),
        (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, False),
        (
            libvirt.VIR_DOMAIN_EVENT_SUSPENDED,
            libvirt.VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED,
            False,
        ),
        (libvirt.VIR_DOMAIN_EVENT_CRASHED, 1, False),
    ],
)
def test_migration_events_are_told_apart_from_power_changes(
    event: int, detail: int, moving: bool
) -> None:
    assert migration.is_migration_event(event, detail) is moving


def test_block_migration_over_a_unix_socket_gives_the_disks_a_socket_of_their_own() -> None:
    block = data(block_migration=True, data_uri="unix:///srv/vf-migrate-1a2b.sock")
    params = migration.migration_params(block, None)
    assert params[libvirt.VIR_MIGRATE_PARAM_DISKS_URI] == "unix:///srv/vf-migrate-1a2b-disks.sock"
    memory_only = migration.migration_params(data(data_uri="unix:///srv/x.sock"), None)
    assert libvirt.VIR_MIGRATE_PARAM_DISKS_URI not in memory_only
    tcp = migration.migration_params(data(block_migration=True, data_uri="tcp://b:49152"), None)
    assert libvirt.VIR_MIGRATE_PARAM_DISKS_URI not in tcp  # libvirt picks the NBD port
