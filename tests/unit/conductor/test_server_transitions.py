"""The conductor moves servers through the servers service: work it picks up after a
delete was asked for leaves the server to the delete (before, a power action or a
build finishing overwrote the ``deleting`` task)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from support.harness import Cloud, make_cloud
from virtfleet import errors
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.servers import service


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Cloud]:
    built = make_cloud(tmp_path, db)
    yield built
    built.stop()


def test_a_stop_picked_up_after_a_delete_leaves_the_server_to_it(cloud: Cloud) -> None:
    uuid = cloud.boot().uuid
    service.request(cloud.db, uuid, "stop")  # the API began the stop
    service.request(cloud.db, uuid, "delete")  # then a delete was asked for
    cloud.conductor.stop_server(uuid)
    cloud.conductor.drain(30)
    server = servers.get(cloud.db, uuid)
    assert (server.vm_state, server.task_state) == ("active", "deleting")
    assert cloud.drivers["big"].get_power_state(uuid) == "running"
    cloud.conductor.delete_server(uuid)
    cloud.conductor.drain(30)
    with pytest.raises(errors.NotFound):
        servers.get(cloud.db, uuid)
    assert cloud.domains("big") == [] and cloud.usages("big") == {}


def test_a_build_picked_up_after_a_delete_never_claims(cloud: Cloud) -> None:
    uuid = cloud.create_server()
    service.request(cloud.db, uuid, "delete")
    cloud.conductor.build_server(uuid)
    cloud.conductor.drain(30)
    server = servers.get(cloud.db, uuid)
    assert (server.vm_state, server.task_state, server.host) == ("building", "deleting", None)
    assert cloud.usages("big") == {} and cloud.usages("small") == {}
    cloud.conductor.delete_server(uuid)
    cloud.conductor.drain(30)
    assert servers.get(cloud.db, uuid, read_deleted=True).vm_state == "deleted"


def test_the_conductor_alone_still_runs_power_actions(cloud: Cloud) -> None:
    """Without the API (no task begun), the conductor begins the task itself."""
    uuid = cloud.boot().uuid
    cloud.conductor.stop_server(uuid)
    cloud.conductor.drain(30)
    assert servers.get(cloud.db, uuid).vm_state == "stopped"
    cloud.conductor.reboot_server(uuid, hard=False)  # a soft reboot needs a running guest
    cloud.conductor.drain(30)
    server = servers.get(cloud.db, uuid)
    assert (server.vm_state, server.task_state) == ("stopped", None)
