"""Live migration, peer to peer with ``migrateToURI3``, between two hosts: two real
libvirtd "hosts" on this machine (``scripts/libvirt-hosts.sh``) or two simulated hosts
of one fleet. The guest is spawned by the driver on the source and must end up running
(and defined) on the destination only."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import libvirt
import pytest

from virtfleet.agent.migration import LiveMigrationEndpoint
from virtfleet.agent.network.plugging import RecordingHostNetwork
from virtfleet.conf import make_conf
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import Fleet, hypervisor_for

from .conftest import SIM_HOSTS, make_driver, open_real
from .payloads import idle_kernel
from .test_contract_driver import no_domain, spec_for

SCRIPT = Path(__file__).resolve().parents[4] / "scripts" / "libvirt-hosts.sh"
REAL_HOSTS = ("vf-contract-a", "vf-contract-b")
FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PEER2PEER
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)
EVENT_TIMEOUT = 30.0

Event = tuple[str, int, int]  # (domain UUID, event, detail)


@dataclass
class Pair:
    source: Any
    destination: Any
    source_uri: str
    destination_uri: str
    source_events: queue.Queue[Event]
    destination_events: queue.Queue[Event]
    fleet: Fleet | None  # the simulated hosts' fleet; None for real hosts


def hosts_script(*args: str) -> str:
    result = subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout.strip()


@pytest.fixture(scope="module")
def real_hosts() -> Iterator[tuple[str, str]]:
    """Two real libvirt hosts for this module; purged afterwards whatever happened."""
    try:
        hosts_script("start", *REAL_HOSTS)
        yield hosts_script("uri", REAL_HOSTS[0]), hosts_script("uri", REAL_HOSTS[1])
    finally:
        hosts_script("purge", *REAL_HOSTS)


def recorder(conn: Any) -> queue.Queue[Event]:
    """Every lifecycle event of ``conn``, in order."""
    events: queue.Queue[Event] = queue.Queue()

    def record(_conn: Any, dom: Any, event: int, detail: int, _opaque: Any) -> None:
        events.put((dom.UUIDString(), event, detail))

    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, record, None)
    return events


@pytest.fixture(
    params=[
        pytest.param("sim", id="sim"),
        pytest.param(
            "libvirt",
            id="libvirt",
            marks=[pytest.mark.libvirt, pytest.mark.libvirt_hosts, pytest.mark.slow],
        ),
    ]
)
def pair(request: pytest.FixtureRequest, contract_fleet: Fleet) -> Iterator[Pair]:
    fleet: Fleet | None = None
    if request.param == "sim":
        fleet = contract_fleet
        uris = tuple(f"sim://{name}" for name in SIM_HOSTS)
        conns = [open_connection(uri, fleet) for uri in uris]
    else:
        uris = request.getfixturevalue("real_hosts")
        conns = [open_real(uri) for uri in uris]
    events = recorder(conns[0]), recorder(conns[1])
    yield Pair(conns[0], conns[1], uris[0], uris[1], *events, fleet)
    for conn in conns:
        conn.close()


def migration_params(directory: Path) -> dict[str, Any]:
    """Where QEMU streams the guest: a unix socket outside the hosts' private dirs,
    which both daemons see (ignored by simulated hosts)."""
    socket = directory / f"migrate-{uuid.uuid4().hex[:8]}.sock"
    return {libvirt.VIR_MIGRATE_PARAM_URI: f"unix://{socket}"}


def events_until(events: queue.Queue[Event], wanted: Event) -> list[Event]:
    seen: list[Event] = []
    while wanted not in seen:
        try:
            seen.append(events.get(timeout=EVENT_TIMEOUT))
        except queue.Empty:
            pytest.fail(f"no event {wanted} within {EVENT_TIMEOUT}s; saw {seen}")
    return seen


def test_live_migration_moves_the_guest(pair: Pair, tmp_path: Path) -> None:
    source, destination = (
        make_driver(pair.source, tmp_path),
        make_driver(pair.destination, tmp_path),
    )
    spec = spec_for("x86_64", tmp_path)
    uid = spec.instance_uuid
    source.spawn(spec)
    try:
        domain = pair.source.lookupByUUIDString(uid)
        domain.migrateToURI3(pair.destination_uri, migration_params(tmp_path), FLAGS)

        assert destination.get_power_state(uid) == "running"
        assert destination.list_instance_uuids() == [uid]
        moved = pair.destination.lookupByUUIDString(uid)
        assert moved.state(0) == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_MIGRATED]
        assert moved.isPersistent() == 1
        assert uid not in source.list_instance_uuids()
        assert no_domain(pair.source, uid)
        events_until(
            pair.source_events,
            (uid, libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED),
        )
        events_until(
            pair.destination_events,
            (uid, libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED),
        )
    finally:
        source.destroy(uid)
        destination.destroy(uid)
    assert no_domain(pair.source, uid) and no_domain(pair.destination, uid)
    assert not (tmp_path / "instances" / uid).exists()


def test_migration_to_the_same_host_is_refused(pair: Pair, tmp_path: Path) -> None:
    source = make_driver(pair.source, tmp_path)
    spec = spec_for("x86_64", tmp_path)
    uid = spec.instance_uuid
    source.spawn(spec)
    try:
        domain = pair.source.lookupByUUIDString(uid)
        with pytest.raises(libvirt.libvirtError) as caught:
            domain.migrateToURI3(pair.source_uri, migration_params(tmp_path), FLAGS)
        assert caught.value.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR
        assert "Attempt to migrate guest to the same host" in str(caught.value)
        assert source.get_power_state(uid) == "running"
        assert no_domain(pair.destination, uid)
    finally:
        source.destroy(uid)


def test_aborted_migration_leaves_the_guest_on_the_source(pair: Pair, tmp_path: Path) -> None:
    """abortJob() while the migration runs: migrateToURI3 fails with OPERATION_ABORTED,
    the guest keeps running on the source, the destination has nothing."""
    source, destination = (
        make_driver(pair.source, tmp_path),
        make_driver(pair.destination, tmp_path),
    )
    params = migration_params(tmp_path)
    changes = {}
    if pair.fleet is None:
        # 16 MiB of non-zero guest memory at 1 MiB/s: the copy lasts about 16 s, not the
        # fraction of a second the idle kernel's few pages take, so the abort lands
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = 1
        changes["kernel_path"] = str(idle_kernel("x86_64", tmp_path, ballast_mib=16))
    else:
        hypervisor_for(pair.fleet, SIM_HOSTS[0]).migration_duration = 30.0
    spec = spec_for("x86_64", tmp_path, **changes)
    uid = spec.instance_uuid
    source.spawn(spec)
    failures: list[libvirt.libvirtError] = []

    def migrate() -> None:
        try:
            domain.migrateToURI3(pair.destination_uri, params, FLAGS)
        except libvirt.libvirtError as exc:
            failures.append(exc)

    try:
        domain = pair.source.lookupByUUIDString(uid)
        mover = threading.Thread(target=migrate)
        mover.start()
        deadline = time.monotonic() + EVENT_TIMEOUT
        # Abort once memory is being copied: an abort while libvirt still prepares the
        # job can be lost on a loaded machine (the migration then completed).
        while domain.jobStats(0).get(libvirt.VIR_DOMAIN_JOB_MEMORY_PROCESSED, 0) == 0:
            assert time.monotonic() < deadline, "the migration never copied memory"
            time.sleep(0.02)
        assert domain.jobStats(0)["type"] == libvirt.VIR_DOMAIN_JOB_UNBOUNDED
        assert domain.abortJob() == 0
        mover.join(timeout=60)
        assert not mover.is_alive()
        assert [f.get_error_code() for f in failures] == [libvirt.VIR_ERR_OPERATION_ABORTED]
        # libvirt words it "migration out: canceled by client" or "job 'migration out'
        # canceled by client", by the phase the abort lands in.
        message = str(failures[0])
        assert "migration out" in message and "canceled by client" in message
        assert domain.state(0) == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED]
        assert domain.jobInfo()[0] == libvirt.VIR_DOMAIN_JOB_NONE
        completed = domain.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        assert completed["type"] == libvirt.VIR_DOMAIN_JOB_NONE
        assert source.list_instance_uuids() == [uid]
        assert no_domain(pair.destination, uid)
        with pytest.raises(libvirt.libvirtError) as caught:
            domain.abortJob()
        assert caught.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    finally:
        source.destroy(uid)
        destination.destroy(uid)


def test_drivers_do_not_report_a_migration_as_a_power_change(pair: Pair, tmp_path: Path) -> None:
    # the drivers get connections of their own: libvirt tracks one lifecycle
    # callback per connection, and the pair's carry the recorders
    conns = [
        open_connection(uri, pair.fleet) if pair.fleet else open_real(uri)
        for uri in (pair.source_uri, pair.destination_uri)
    ]
    source, destination = (make_driver(conn, tmp_path) for conn in conns)
    reported: queue.Queue[tuple[str, str, str]] = queue.Queue()
    source.register_lifecycle_callback(lambda uid, state: reported.put(("source", uid, state)))
    destination.register_lifecycle_callback(
        lambda uid, state: reported.put(("destination", uid, state))
    )
    spec = spec_for("x86_64", tmp_path)
    uid = spec.instance_uuid
    source.spawn(spec)
    time.sleep(0.5)  # the boot's own started event is not what this test is about
    while not reported.empty():
        reported.get()
    try:
        pair.source.lookupByUUIDString(uid).migrateToURI3(
            pair.destination_uri, migration_params(tmp_path), FLAGS
        )
        events_until(
            pair.source_events,
            (uid, libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED),
        )
        events_until(
            pair.destination_events,
            (uid, libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED),
        )
        time.sleep(0.5)  # the drivers' callbacks run on the same event thread
        states = []
        while not reported.empty():
            side, got_uid, state = reported.get()
            if got_uid == uid:
                states.append((side, state))
        # neither side reports the move as a power change: the conductor follows it
        assert states == [], states
        assert destination.get_power_state(uid) == "running"
    finally:
        destination.destroy(uid)
        source.destroy(uid)
        for conn in conns:
            conn.close()


# -- block migration through the agents' endpoints -----------------------------------


class PatternedImages:
    """Creates the overlay with qemu-img, then writes a pattern into it (before the
    guest starts), so the destination's copy can be checked byte for byte."""

    PATTERN = "0x5a"

    def create_overlay(self, path: str, backing: str, backing_format: str, size_gb: int) -> None:
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-b", backing, "-F", backing_format, path],
            check=True,
        )
        subprocess.run(
            ["qemu-io", "-f", "qcow2", "-c", f"write -P {self.PATTERN} 0 1M", path],
            check=True,
            capture_output=True,
        )

    def convert(self, source: str, source_format: str, target: str) -> None:
        Path(target).write_bytes(Path(source).read_bytes())

    def copy_disk(
        self, source: str, target: str, backing: str, backing_format: str, size_gb: int
    ) -> None:
        Path(target).write_bytes(Path(source).read_bytes())

    def rebase(self, target: str, backing: str, backing_format: str) -> None:
        pass  # no backing file to name


def endpoint(driver: Any, conf: Any, host: str) -> LiveMigrationEndpoint:
    """The agent's live-migration RPC methods over ``driver`` (no mdev hooks)."""
    served = LiveMigrationEndpoint()
    served._agent = SimpleNamespace(  # type: ignore[assignment]  # the endpoint reads these only
        driver=driver, conf=conf, host=host, network=RecordingHostNetwork()
    )
    return served


def test_block_migration_copies_the_disk_into_the_destinations_own_directory(
    pair: Pair, tmp_path: Path
) -> None:
    base = tmp_path / "base.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(base), "16M"], check=True)
    confs = [
        make_conf(
            data_dir=str(tmp_path / side),
            libvirt__virt_type="qemu",
            libvirt__connection_uri=uri,
        )
        for side, uri in (("a", pair.source_uri), ("b", pair.destination_uri))
    ]
    source = LibvirtDriver(pair.source, confs[0], PatternedImages())
    destination = LibvirtDriver(pair.destination, confs[1])
    src_ep, dst_ep = endpoint(source, confs[0], "a"), endpoint(destination, confs[1], "b")
    spec = spec_for("x86_64", tmp_path, image_path=str(base), image_format="raw", root_gb=0)
    uid = spec.instance_uuid
    source.spawn(spec)
    try:
        data = LibvirtLiveMigrateData(
            migration_uuid=str(uuid.uuid4()),
            instance_uuid=uid,
            source_host="a",
            dest_host="b",
            instance_dir=source.instance_dir(uid),
        )
        data = dst_ep.check_can_live_migrate_destination(data, "auto")
        data.data_uri = migration_params(tmp_path)[libvirt.VIR_MIGRATE_PARAM_URI]
        name = dst_ep.create_shared_storage_test_file()
        data.is_shared_instance_path = src_ep.check_shared_storage_test_file(name)
        dst_ep.cleanup_shared_storage_test_file(name)
        assert data.is_shared_instance_path is False  # instance paths of their own
        data.block_migration = True
        data = src_ep.check_can_live_migrate_source(data)
        assert [d["path"] for d in data.local_disks] == [f"{data.instance_dir}/disk"]
        data = dst_ep.pre_live_migration(data)
        assert data.full_disk_copy is False  # the backing file is here: increments only
        src_ep.live_migrate(data)
        dst_ep.post_live_migration_at_destination(data)
        src_ep.post_live_migration_at_source(data)

        assert destination.get_power_state(uid) == "running"
        target = f"{data.dest_instance_dir}/disk"
        assert data.dest_instance_dir == str(tmp_path / "b" / "instances" / uid)
        xml = destination.get_domain_xml(uid)
        assert target in xml and str(data.instance_dir) not in xml
        if pair.fleet is None:  # real QEMU copied the written clusters over NBD
            read = subprocess.run(
                ["qemu-io", "-r", "-U", "-f", "qcow2", "-c",
                 f"read -P {PatternedImages.PATTERN} 0 1M", target],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert read.returncode == 0 and "Pattern verification failed" not in read.stdout, (
                read.stdout + read.stderr
            )
        assert not Path(str(data.instance_dir)).exists()  # the source's copy is gone
        assert no_domain(pair.source, uid)
    finally:
        source.destroy(uid)
        destination.destroy(uid)
