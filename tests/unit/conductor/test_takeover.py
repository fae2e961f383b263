"""Several servers on one database: each beats its heart in control_servers; a dead
server's builds, deletes and power tasks are taken over by a live one, a live
server's work is never touched."""

from __future__ import annotations

import datetime
import pathlib
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, update

from support.harness import Cloud, make_cloud
from virtfleet.db import control_servers, servers
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import utcnow

DEAD = "dead-server:1:00000000"
PEER = "peer-server:2:00000000"


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Cloud]:
    built = make_cloud(tmp_path, db)
    yield built
    built.stop()


def member(db: Database, name: str, seconds_ago: float) -> None:
    """A control server whose last heartbeat was ``seconds_ago``."""
    beat = utcnow() - datetime.timedelta(seconds=seconds_ago)
    with db.write() as conn:
        conn.execute(
            insert(control_servers.TABLE).values(name=name, started_at=beat, heartbeat_at=beat)
        )


def owned(cloud: Cloud, uuid: str, owner: str, **fields: object) -> None:
    servers.update(cloud.db, uuid, owner=owner, **fields)


def test_members_are_alive_while_their_heartbeat_is_fresh(cloud: Cloud) -> None:
    member(cloud.db, DEAD, 3600)
    member(cloud.db, PEER, 1)
    alive = control_servers.live(cloud.db, dead_after=20)
    assert alive == {cloud.conductor.name, PEER}
    cloud.conductor.membership.beat()
    assert cloud.conductor.name in control_servers.live(cloud.db, dead_after=1)


def test_a_dead_servers_work_is_finished_by_a_live_one(cloud: Cloud) -> None:
    member(cloud.db, DEAD, 3600)
    spawned = cloud.boot()  # its build died after the spawn, before ACTIVE
    owned(cloud, spawned.uuid, DEAD, vm_state="building", task_state="spawning")
    queued = cloud.create_server()  # accepted by the dead server, never started
    owned(cloud, queued, DEAD)
    deleting = cloud.boot()
    owned(cloud, deleting.uuid, DEAD, task_state="deleting")
    stopping = cloud.boot()
    owned(cloud, stopping.uuid, DEAD, task_state="powering-off")

    cloud.conductor.take_over_dead_work()  # the heartbeat thread may have begun already
    cloud.conductor.drain(30)

    finished = servers.get(cloud.db, spawned.uuid)
    assert (finished.vm_state, finished.task_state, finished.host) == ("active", None, "big")
    assert cloud.domains("big").count(spawned.uuid) == 1  # finished, not spawned again
    built = servers.get(cloud.db, queued)
    assert (built.vm_state, built.task_state, built.owner) == ("active", None, cloud.conductor.name)
    assert built.host is not None and queued in cloud.domains(built.host)
    assert cloud.placement.get_consumer_allocations(queued).allocations
    assert servers.get(cloud.db, deleting.uuid, read_deleted=True).vm_state == "deleted"
    assert cloud.placement.get_consumer_allocations(deleting.uuid).allocations == {}
    assert deleting.uuid not in cloud.domains("big")
    assert servers.get(cloud.db, stopping.uuid).task_state is None
    assert cloud.conductor.take_over_dead_work() == []  # all of it is this server's now


def test_a_dead_servers_build_on_a_host_without_the_guest_is_built_again(cloud: Cloud) -> None:
    member(cloud.db, DEAD, 3600)
    uuid = cloud.create_server()
    owned(cloud, uuid, DEAD, task_state="spawning")
    servers.update(cloud.db, uuid, host="small", node="small")  # chosen, never spawned
    cloud.conductor.take_over_dead_work()
    cloud.conductor.drain(30)
    server = servers.get(cloud.db, uuid)
    assert (server.vm_state, server.task_state) == ("active", None)
    assert server.host is not None and uuid in cloud.domains(server.host)
    held = cloud.placement.get_consumer_allocations(uuid).allocations
    assert list(held) == [cloud.root_of(server.host)]


def test_a_live_servers_work_is_never_taken_over(cloud: Cloud) -> None:
    member(cloud.db, PEER, 0)
    queued = cloud.create_server()
    owned(cloud, queued, PEER)
    deleting = cloud.boot()
    owned(cloud, deleting.uuid, PEER, task_state="deleting")
    assert cloud.conductor.take_over_dead_work() == []
    assert cloud.conductor.recover_stuck_servers(stuck_after=0) == []
    assert servers.get(cloud.db, queued).task_state == "scheduling"
    assert servers.get(cloud.db, deleting.uuid).task_state == "deleting"
    assert deleting.uuid in cloud.domains("big")


def test_a_server_whose_own_heartbeat_is_late_takes_nothing(cloud: Cloud) -> None:
    member(cloud.db, DEAD, 3600)
    queued = cloud.create_server()
    owned(cloud, queued, DEAD)
    late = utcnow() - datetime.timedelta(seconds=3600)
    with cloud.db.write() as conn:
        conn.execute(
            update(control_servers.TABLE)
            .where(control_servers.TABLE.c.name == cloud.conductor.name)
            .values(heartbeat_at=late)
        )
    assert cloud.conductor.take_over_dead_work() == []
    assert servers.get(cloud.db, queued).owner == DEAD


def test_only_one_survivor_takes_a_task_over(cloud: Cloud) -> None:
    queued = cloud.create_server()
    owned(cloud, queued, DEAD)
    cloud.conductor.stop()  # its own takeover pass would be a third survivor
    try:
        assert servers.take_over(cloud.db, queued, DEAD, "survivor-a")
        assert not servers.take_over(cloud.db, queued, DEAD, "survivor-b")
        assert servers.get(cloud.db, queued).owner == "survivor-a"
    finally:
        cloud.conductor.start()  # the fixture stops it again


def test_a_clean_stop_leaves_the_members(cloud: Cloud) -> None:
    name = cloud.conductor.name
    assert name in control_servers.members(cloud.db)
    cloud.conductor.stop()
    assert name not in control_servers.members(cloud.db)
    cloud.conductor.start()  # the fixture stops it again


def test_a_workflow_queued_here_is_slow_not_stuck(cloud: Cloud) -> None:
    """The watchdog's old rule (no progress for a while) never fails a build whose
    workflow is still queued or running in this process (a busy server)."""
    uuid = cloud.create_server()
    owned(cloud, uuid, cloud.conductor.name)
    release = threading.Event()
    cloud.conductor._submit(uuid, lambda _uuid: release.wait(10), "a slow workflow")
    assert cloud.conductor.recover_stuck_servers(stuck_after=0) == []
    release.set()
    cloud.conductor.drain(10)
    assert cloud.conductor.recover_stuck_servers(stuck_after=0) == [uuid]
