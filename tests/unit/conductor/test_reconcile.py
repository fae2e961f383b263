"""The conductor's side of reconciliation: which servers a host's guest list leaves
out, and what it does about each after asking the host once more."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from unittest import mock

import pytest

from support.harness import Cloud, make_cloud
from virtfleet.conductor import reconcile
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.db.servers import Server
from virtfleet.servers import states as st


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Cloud]:
    built = make_cloud(tmp_path, db)
    yield built
    built.stop()


def test_only_settled_servers_of_the_host_left_out_of_its_list_are_candidates(
    cloud: Cloud,
) -> None:
    listed, unlisted, busy = cloud.boot(), cloud.boot(), cloud.boot()
    assert {listed.host, unlisted.host, busy.host} == {"big"}
    servers.update(cloud.db, busy.uuid, task_state=st.POWERING_OFF)
    found = reconcile.missing_guests(cloud.db, "big", [listed.uuid])
    assert [s.uuid for s in found] == [unlisted.uuid]
    assert reconcile.missing_guests(cloud.db, "small", []) == []


def test_a_guest_the_stale_list_missed_is_asked_about_and_kept(cloud: Cloud) -> None:
    """The list was taken before the guest was spawned: the host has it after all."""
    server = cloud.boot()
    assert cloud.conductor.reconcile_guests("big", []) == []
    assert servers.get(cloud.db, server.uuid).vm_state == st.ACTIVE
    cloud.drivers["big"].power_off(server.uuid)
    assert cloud.conductor.reconcile_guests("big", []) == []
    after = servers.get(cloud.db, server.uuid)
    assert (after.vm_state, after.fault) == (st.STOPPED, None)  # its state, applied


def test_a_gone_guest_turns_error_without_host_or_allocation(cloud: Cloud) -> None:
    server = cloud.boot()
    cloud.drivers["big"].destroy(server.uuid)
    assert cloud.conductor.reconcile_guests("big", cloud.domains("big")) == [server.uuid]
    after = servers.get(cloud.db, server.uuid)
    assert after.vm_state == st.ERROR and after.task_state is None
    assert after.fault is not None
    assert after.fault["message"] == "guest domain not found on host big"
    assert (after.host, after.node) == (None, None)
    assert cloud.placement.get_consumer_allocations(server.uuid).allocations == {}
    assert cloud.conductor.reconcile_guests("big", []) == []  # marked once


def test_a_host_that_cannot_be_asked_marks_nothing(cloud: Cloud) -> None:
    server = cloud.boot()
    cloud.agents["big"].stop()  # stops serving compute.big: the question goes unanswered
    cloud.conductor.compute = cloud.conductor.compute.with_timeout(0.2)
    assert cloud.conductor.reconcile_guests("big", []) == []
    assert servers.get(cloud.db, server.uuid).vm_state == st.ACTIVE


def test_a_task_started_before_the_mark_wins(cloud: Cloud) -> None:
    """Another server may begin a task between the check and the write: the mark is
    a transition, refused then, and nothing is released."""
    server = cloud.boot()
    cloud.drivers["big"].destroy(server.uuid)
    real_get = servers.get

    def then_a_delete_begins(db: Database, uuid: str, read_deleted: bool = False) -> Server:
        found = real_get(db, uuid, read_deleted)
        servers.update(db, uuid, task_state=st.DELETING)
        return found

    with mock.patch.object(servers, "get", then_a_delete_begins):
        assert cloud.conductor.reconcile_guests("big", []) == []
    after = servers.get(cloud.db, server.uuid)
    # (the domain's stop event may have made it SHUTOFF first)
    assert after.vm_state in (st.ACTIVE, st.STOPPED)
    assert (after.task_state, after.fault) == (st.DELETING, None)
    assert cloud.placement.get_consumer_allocations(server.uuid).allocations != {}


# -- rescued servers: the guest is the server's own domain, from the rescue definition


def rescued(cloud: Cloud) -> Server:
    """A server in RESCUE whose domain runs (as a rescue leaves it)."""
    server = cloud.boot()
    servers.update(cloud.db, server.uuid, vm_state=st.RESCUED)
    return servers.get(cloud.db, server.uuid)


def test_a_running_rescued_guest_is_neither_missing_nor_an_orphan_nor_a_mismatch(
    cloud: Cloud,
) -> None:
    server = rescued(cloud)
    listed = cloud.domains("big")
    assert server.uuid in listed
    assert reconcile.missing_guests(cloud.db, "big", listed) == []
    assert cloud.conductor.reconcile_guests("big", listed) == []
    assert cloud.conductor.orphan_domains("big", listed) == []
    cloud.conductor.instance_power_state_changed("big", server.uuid, "running")
    after = servers.get(cloud.db, server.uuid)
    assert (after.vm_state, after.task_state, after.fault) == (st.RESCUED, None, None)
    assert after.power_state == int(st.PowerState.RUNNING)


def test_a_stopped_rescued_guest_stays_rescue_with_its_power_state(cloud: Cloud) -> None:
    """Nova's power sync has no rule for RESCUED (SHUTOFF would boot the rescue
    again on start): the power state is recorded, the vm_state stays."""
    server = rescued(cloud)
    cloud.drivers["big"].power_off(server.uuid)
    cloud.conductor.instance_power_state_changed("big", server.uuid, "shutdown")
    after = servers.get(cloud.db, server.uuid)
    assert (after.vm_state, after.task_state, after.fault) == (st.RESCUED, None, None)
    assert after.power_state == int(st.PowerState.SHUTDOWN)
    assert cloud.conductor.reconcile_guests("big", cloud.domains("big")) == []  # still there
    assert servers.get(cloud.db, server.uuid).vm_state == st.RESCUED


def test_a_vanished_rescued_guest_turns_error_as_an_active_one_does(cloud: Cloud) -> None:
    server = rescued(cloud)
    cloud.drivers["big"].destroy(server.uuid)
    assert cloud.conductor.reconcile_guests("big", cloud.domains("big")) == [server.uuid]
    after = servers.get(cloud.db, server.uuid)
    assert (after.vm_state, after.task_state, after.host) == (st.ERROR, None, None)
    assert after.fault is not None
    assert after.fault["message"] == "guest domain not found on host big"
    assert "(it was rescued)" in after.fault["details"]
    assert after.power_state == int(st.PowerState.NOSTATE)
    assert cloud.placement.get_consumer_allocations(server.uuid).allocations == {}


@pytest.mark.parametrize("task", [st.RESCUING, st.UNRESCUING])
def test_a_rescue_or_unrescue_in_progress_is_never_marked(cloud: Cloud, task: str) -> None:
    server = rescued(cloud)
    servers.update(cloud.db, server.uuid, task_state=task)
    cloud.drivers["big"].destroy(server.uuid)
    assert cloud.conductor.reconcile_guests("big", []) == []
    after = servers.get(cloud.db, server.uuid)
    assert (after.vm_state, after.task_state) == (st.RESCUED, task)
