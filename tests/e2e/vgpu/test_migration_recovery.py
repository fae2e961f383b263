"""A control plane that dies in the middle of a live migration of a vGPU guest, and the
one started after it on the same database: it asks the agents where the guest is and
finishes or rolls back (allocation, server host, mdev claims, files, record).

"Dying" here: from a chosen RPC on, every call of the old conductor hangs (as calls to
a dead process's peers never come back) and it never writes again; the agents and the
simulated hosts keep going, as they would. The new conductor shares the database."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from tests.e2e.vgpu.test_migration import VGPU_FLAVOR, vgpu_used

from support.ci import time_bound
from support.harness import wait_for
from support.migrate_helpers import migrate
from support.transports import HangingTransport
from support.vgpu_cloud import make_vgpu_cloud
from virtfleet import conf as vconf
from virtfleet.agent.rpcapi import CONDUCTOR_SERVER, CONDUCTOR_TOPIC
from virtfleet.conductor.manager import Conductor, ConductorEndpoint
from virtfleet.conductor.moves import recovery
from virtfleet.db import mdev_claims, servers
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService
from virtfleet.scheduler.manager import Scheduler


def control_conf(tmp_path: pathlib.Path) -> Any:
    return vconf.make_conf(
        data_dir=str(tmp_path),
        scheduler__host_cache_seconds=0,
        libvirt__live_migration_progress_interval=0.02,
        compute__host_down_after=0,  # no watchdog rounds during the test
    )


def new_conductor(cloud: Any, transport: Any) -> Conductor:
    conf = control_conf(cloud.tmp_path)
    placement = PlacementService(cloud.db)
    return Conductor(
        conf, cloud.db, placement, Scheduler(conf, cloud.db, placement), transport, cloud.images
    )


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Any]:
    built = make_vgpu_cloud(tmp_path, db)
    yield built
    built.stop()


def crash_mid_migration(cloud: Any, at_method: str) -> tuple[Any, records.Migration, str, str]:
    """Boot a vGPU guest, start its migration under a conductor that dies at the first
    ``at_method`` call; returns (server, migration, source, destination)."""
    server = cloud.boot(**VGPU_FLAVOR)
    source = server.host
    dest = "vgpu-2" if source == "vgpu-1" else "vgpu-1"
    cloud.conductor.stop()
    dying = HangingTransport(cloud.transport, at_method)
    old = new_conductor(cloud, dying)
    old.start()
    cloud.conductor = old
    cloud.dying = dying
    migration = migrate(cloud, server.uuid, dest, wait=False)
    assert dying.stopped.wait(10), f"the migration never called {at_method}"
    cloud.transport.stop_serving(CONDUCTOR_TOPIC, CONDUCTOR_SERVER)  # the process is gone
    old.membership.stop()  # and so is its heartbeat: its work may be taken over
    return server, migration, source, dest


def restart(cloud: Any) -> Conductor:
    """The new control plane (not started: the test drives the recovery rounds)."""
    return new_conductor(cloud, cloud.transport)


@pytest.fixture(autouse=True)
def unwind_dead_conductor(cloud: Any) -> Iterator[None]:
    yield
    dying = getattr(cloud, "dying", None)
    if dying is not None:
        dying.close()


def recover_until_done(conductor: Conductor, migration_id: int) -> list[str]:
    """Recovery rounds until one acts on the migration; every round's answer."""
    answers: list[str] = []

    def acted() -> bool:
        answers.append(conductor.recover_interrupted_migrations().get(migration_id, "none"))
        return answers[-1] not in (recovery.WAIT, "none")

    assert wait_for(acted, timeout=time_bound(20)), answers
    return answers


def test_guest_that_reached_the_destination_is_finished(cloud: Any) -> None:
    # long enough that the copy still runs when the new conductor first asks, at load
    cloud.hypervisor("vgpu-1").migration_duration = time_bound(2.0)
    cloud.hypervisor("vgpu-2").migration_duration = time_bound(2.0)
    server, migration, source, dest = crash_mid_migration(cloud, "live_migration_progress")
    source_dir = cloud.drivers[source].instance_dir(server.uuid)
    new = restart(cloud)
    answers = recover_until_done(new, migration.id)
    assert answers[0] == recovery.WAIT  # libvirt's job was still running
    assert answers[-1] == recovery.FINISH
    ended = records.get(cloud.db, migration.id)
    assert ended.status == "completed"
    moved = servers.get(cloud.db, server.uuid)
    assert (moved.host, moved.vm_state, moved.task_state) == (dest, "active", None)
    assert (vgpu_used(cloud, dest), vgpu_used(cloud, source)) == (1, 0)
    assert set(cloud.placement.get_consumer_allocations(server.uuid).allocations) >= {
        cloud.root_of(dest)
    }
    assert cloud.placement.get_consumer_allocations(migration.uuid).allocations == {}
    assert mdev_claims.list_claims(cloud.db) == []
    assert cloud.domains(source) == [] and cloud.domains(dest) == [server.uuid]
    # the agents have instance paths of their own: a block migration, source files gone
    assert not os.path.exists(source_dir)
    assert os.path.isdir(cloud.drivers[dest].instance_dir(server.uuid))


def test_guest_still_on_the_source_is_rolled_back(cloud: Any) -> None:
    cloud.hypervisor("vgpu-1").migration_duration = 0.5
    cloud.hypervisor("vgpu-2").migration_duration = 0.5
    for host in ("vgpu-1", "vgpu-2"):  # whichever is the source: fail at half the copy
        cloud.hypervisor(host).inject_migration_failure("perform")
    server, migration, source, dest = crash_mid_migration(cloud, "live_migration_progress")
    assert (vgpu_used(cloud, source), vgpu_used(cloud, dest)) == (
        1,
        1,
    )  # the guest's, and the migration's claim
    dest_dir = cloud.drivers[dest].instance_dir(server.uuid)
    answers = recover_until_done(restart(cloud), migration.id)
    assert answers[-1] == recovery.ROLLBACK
    ended = records.get(cloud.db, migration.id)
    assert ended.status == "error"
    assert "rolled back" in (ended.error or "") and source in (ended.error or "")
    kept = servers.get(cloud.db, server.uuid)
    assert (kept.host, kept.vm_state, kept.task_state) == (source, "active", None)
    assert (vgpu_used(cloud, source), vgpu_used(cloud, dest)) == (1, 0)
    assert cloud.placement.get_consumer_allocations(migration.uuid).allocations == {}
    assert mdev_claims.list_claims(cloud.db) == []
    assert cloud.domains(dest) == [] and server.uuid in cloud.domains(source)
    assert not os.path.exists(dest_dir)  # prepared by the migration, removed
    assert os.path.isdir(cloud.drivers[source].instance_dir(server.uuid))


def test_migration_killed_while_preparing_is_rolled_back_by_the_watchdog(cloud: Any) -> None:
    server, migration, source, dest = crash_mid_migration(cloud, "pre_live_migration")
    held = records.get(cloud.db, migration.id)
    assert held.status == "preparing"
    assert mdev_claims.list_claims(cloud.db) != []  # the destination's claim was taken
    assert cloud.placement.get_consumer_allocations(migration.uuid).allocations != {}
    new = restart(cloud)
    new.start()  # its first watchdog round recovers
    try:
        assert wait_for(lambda: not records.get(cloud.db, migration.id).in_progress, 20)
    finally:
        new.stop()
    assert records.get(cloud.db, migration.id).status == "error"
    assert mdev_claims.list_claims(cloud.db) == []
    assert cloud.placement.get_consumer_allocations(migration.uuid).allocations == {}
    kept = servers.get(cloud.db, server.uuid)
    assert (kept.host, kept.task_state) == (source, None)
    assert (vgpu_used(cloud, source), vgpu_used(cloud, dest)) == (1, 0)
    assert server.uuid in cloud.drivers[source].list_instance_uuids()


def test_unreachable_agent_makes_recovery_wait(cloud: Any) -> None:
    _, migration, _, dest = crash_mid_migration(cloud, "pre_live_migration")
    cloud.agents[dest].stop()
    new = restart(cloud)
    assert new.recover_interrupted_migrations() == {migration.id: recovery.WAIT}
    assert records.get(cloud.db, migration.id).in_progress  # untouched until it answers
    assert mdev_claims.list_claims(cloud.db) != []
    # the agent comes back (it reports to the new control plane first)
    cloud.transport.serve(CONDUCTOR_TOPIC, CONDUCTOR_SERVER, ConductorEndpoint(new))
    cloud.agents[dest].start()
    assert new.recover_interrupted_migrations() == {migration.id: recovery.ROLLBACK}
    assert mdev_claims.list_claims(cloud.db) == []


def test_server_left_migrating_after_its_record_completed_is_put_on_the_destination(
    cloud: Any,
) -> None:
    server = cloud.boot(**VGPU_FLAVOR)
    dest = "vgpu-2" if server.host == "vgpu-1" else "vgpu-1"
    done = migrate(cloud, server.uuid, dest)
    assert done.status == "completed"
    # as if the control plane stopped between the record's write and the server's
    servers.update(cloud.db, server.uuid, host=server.host, task_state="migrating")
    assert server.uuid in cloud.conductor.recover_stuck_servers(stuck_after=0)
    settled = servers.get(cloud.db, server.uuid)
    assert (settled.host, settled.task_state) == (dest, None)
    # a server left migrating without any migration record just loses the task
    other = cloud.boot(**VGPU_FLAVOR)
    servers.update(cloud.db, other.uuid, task_state="migrating")
    cloud.conductor.recover_stuck_servers(stuck_after=0)
    kept = servers.get(cloud.db, other.uuid)
    assert (kept.host, kept.task_state) == (other.host, None)
