"""Down hosts on the simulated fleet: a server on a host whose agent does not answer
is deleted at once without it (allocation released), and the agent reaps the domain
when it returns — or only warns (``log``), or does not look (``noop``); a guest a live
migration involves, and domains virtfleet does not own, are never touched."""

from __future__ import annotations

import logging
import threading
import time
import uuid as uuidlib

import pytest

from support.ci import time_bound
from support.orphan_cloud import HOSTS, OrphanCloud, exists
from virtfleet.db import migration_records as records
from virtfleet.db import servers


def boot(cloud: OrphanCloud, image: str, name: str) -> str:
    server = cloud.boot(name, "m1", image)
    assert server["status"] == "ACTIVE", server
    return str(server["id"])


def timed_delete(cloud: OrphanCloud, uuid: str) -> float:
    started = time.monotonic()
    cloud.delete_server(uuid)
    return time.monotonic() - started


def test_delete_on_up_host_destroys_the_domain_through_the_agent(
    cloud: OrphanCloud, image: str
) -> None:
    uuid = boot(cloud, image, "up-1")
    host = cloud.host_of(uuid)
    directory = cloud.instance_dir(host, uuid)
    assert uuid in cloud.domains(host) and exists(directory)

    cloud.delete_server(uuid)

    assert uuid not in cloud.domains(host)
    assert not exists(directory)
    assert cloud.allocation_hosts(uuid) == {}


def test_delete_on_down_host_is_local_and_the_domain_is_reaped_on_return(
    cloud: OrphanCloud, image: str, caplog: pytest.LogCaptureFixture
) -> None:
    uuid = boot(cloud, image, "down-1")
    host = cloud.host_of(uuid)
    directory = cloud.instance_dir(host, uuid)
    assert cloud.allocation_hosts(uuid) == {host: {"VCPU": 1, "MEMORY_MB": 1024, "DISK_GB": 1}}
    stand_in = cloud.take_down(host)
    try:
        with caplog.at_level(logging.WARNING, logger="virtfleet.conductor.manager"):
            elapsed = timed_delete(cloud, uuid)
        assert elapsed < time_bound(2.0), f"delete took {elapsed:.1f} s"
        assert stand_in.calls == []  # the agent was not waited for
        assert cloud.allocation_hosts(uuid) == {}
        assert servers.get(cloud.control.db, uuid, read_deleted=True).vm_state == "deleted"
        assert any(
            uuid in r.getMessage() and "reaped when the host returns" in r.getMessage()
            for r in caplog.records
        )
        assert uuid in cloud.domains(host) and exists(directory)  # left behind, for now
    finally:
        cloud.bring_back(host, stand_in)

    assert uuid not in cloud.domains(host)
    assert not exists(directory)


def test_an_event_waiting_on_a_silent_host_does_not_hold_up_the_delete(
    cloud: OrphanCloud, image: str
) -> None:
    uuid = boot(cloud, image, "event-1")
    host = cloud.host_of(uuid)
    stand_in = cloud.take_down(host)
    try:  # a power event of the guest, answered by nobody when asked about
        asking = threading.Thread(
            target=cloud.control.conductor.instance_power_state_changed,
            args=(host, uuid, "running"),
            daemon=True,
        )
        asking.start()
        deadline = time.monotonic() + time_bound(5.0)
        while "get_power_state" not in stand_in.calls:
            assert time.monotonic() < deadline, "the conductor never asked the host"
            time.sleep(0.05)
        elapsed = timed_delete(cloud, uuid)
        assert elapsed < time_bound(2.0), f"delete took {elapsed:.1f} s"
    finally:
        cloud.bring_back(host, stand_in)
    asking.join(timeout=time_bound(5.0))
    assert not asking.is_alive()
    assert servers.get(cloud.control.db, uuid, read_deleted=True).vm_state == "deleted"


def test_log_and_noop_leave_the_domain(
    cloud: OrphanCloud, image: str, caplog: pytest.LogCaptureFixture
) -> None:
    uuid = boot(cloud, image, "kept-1")
    host = cloud.host_of(uuid)
    agent = cloud.agent(host)
    directory = cloud.instance_dir(host, uuid)
    stand_in = cloud.take_down(host)
    try:
        cloud.delete_server(uuid)
        caplog.clear()
        agent.conf.set_override("orphan_domain_action", "log", group="compute")
        with caplog.at_level(logging.WARNING, logger="virtfleet.agent.orphans"):
            assert agent.reap_orphans() == [uuid]
        warned = [r.getMessage() for r in caplog.records if r.name == "virtfleet.agent.orphans"]
        assert warned and "its server was deleted" in warned[0] and "left alone" in warned[0]
        assert uuid in cloud.running(host) and exists(directory)

        caplog.clear()
        agent.conf.set_override("orphan_domain_action", "noop", group="compute")
        with caplog.at_level(logging.WARNING, logger="virtfleet.agent.orphans"):
            assert agent.reap_orphans() == []
        assert not [r for r in caplog.records if r.name == "virtfleet.agent.orphans"]
        assert uuid in cloud.running(host) and exists(directory)

        agent.conf.set_override("orphan_domain_action", "reap", group="compute")
        assert agent.reap_orphans() == [uuid]
        assert uuid not in cloud.domains(host) and not exists(directory)
    finally:
        agent.conf.clear_override("orphan_domain_action", group="compute")
        cloud.bring_back(host, stand_in)


def test_a_guest_in_a_live_migration_is_left_alone_on_both_sides(
    cloud: OrphanCloud, image: str
) -> None:
    uuid = boot(cloud, image, "moving-1")
    source = cloud.host_of(uuid)
    dest, other = [h for h in HOSTS if h != source][:2]
    directory = cloud.instance_dir(source, uuid)
    xml = cloud.agent(source).driver.get_domain_xml(uuid)
    cloud.agent(dest).stop()  # only this test's calls reap there (no periodic report)
    try:
        cloud.define_copy(dest, xml, uuid=uuid)  # the incoming guest on the destination
        server = servers.get(cloud.control.db, uuid)
        conductor = cloud.control.conductor
        # The watchdog would take this record without a workflow for an interrupted one.
        with conductor._locked(uuid):
            migration = records.create(
                cloud.control.db,
                instance_uuid=uuid,
                source_compute=source,
                source_node=source,
                dest_compute=dest,
                project_id=server.project_id,
                user_id=server.user_id,
            )
            try:
                records.update(cloud.control.db, migration.id, status=records.RUNNING)
                assert cloud.agent(dest).reap_orphans() == []
                assert cloud.agent(source).reap_orphans() == []
                assert uuid in cloud.running(dest) and uuid in cloud.running(source)
                # Recorded on the source, mid-migration: not an orphan on either side, but
                # a third host holding a copy is not involved.
                assert conductor.orphan_domains(dest, [uuid]) == []
                assert conductor.orphan_domains(source, [uuid]) == []
                assert [o.reason for o in conductor.orphan_domains(other, [uuid])] == ["elsewhere"]
            finally:
                records.update(cloud.control.db, migration.id, status=records.FAILED, error="test")

            # Once the migration failed the destination's copy is an orphan; the instance
            # directory is shared with the source (one data directory): only the domain goes.
            assert cloud.agent(dest).reap_orphans() == [uuid]
    finally:
        cloud.agent(dest).start()
    assert uuid not in cloud.domains(dest)
    assert uuid in cloud.running(source) and exists(directory)
    assert cloud.agent(source).reap_orphans() == []
    cloud.delete_server(uuid)


def test_domains_virtfleet_does_not_own_are_never_touched(
    cloud: OrphanCloud, image: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    uuid = boot(cloud, image, "template-1")
    host = cloud.host_of(uuid)
    xml = cloud.agent(host).driver.get_domain_xml(uuid)
    outside = tmp_path_factory.mktemp("not-virtfleet")
    foreign = [
        cloud.define_copy(host, xml, name="someone-elses-vm", metadata=False),
        cloud.define_copy(host, xml, metadata=False),  # a vf- name, no metadata
        cloud.define_copy(host, xml, instance_dir=str(outside / "x")),  # not our path
    ]
    unknown = str(uuidlib.uuid4())  # ours (name, metadata, path), but no server has it
    unknown_dir = cloud.instance_dir(host, unknown)
    unknown_dir.mkdir()
    cloud.define_copy(host, xml, uuid=unknown, instance_dir=str(unknown_dir))

    assert cloud.agent(host).reap_orphans() == [unknown]  # warned about, not reaped

    running = cloud.running(host)
    assert all(f in running for f in foreign)
    assert uuid in running
    # No record of its server at all (a restored database?): left, never destroyed.
    assert unknown in cloud.domains(host) and exists(unknown_dir)
    for f in [*foreign, unknown]:
        conn = cloud.agent(host).driver.connection  # type: ignore[attr-defined]
        domain = conn.lookupByUUIDString(f)
        domain.destroy()
        domain.undefine()
    cloud.delete_server(uuid)
