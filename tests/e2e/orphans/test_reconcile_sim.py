"""Reconciliation on the simulated fleet: an agent that starts (or reports) without
the guests the database puts on its host gets their servers marked — ERROR with a
fault naming the host when the domain is gone, SHUTOFF when it is stopped — within
one refresh, and the books balance afterwards; servers in a task (building,
migrating) or in a live migration involving the host are left alone."""

from __future__ import annotations

import time
from collections.abc import Callable

from support.orphan_cloud import HOSTS, OrphanCloud
from virtfleet.conductor.audit import audit
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.servers import states as st

REFRESH = 1.0  # the fleet's [compute] resource_provider_refresh_interval


def boot(cloud: OrphanCloud, image: str, name: str) -> str:
    server = cloud.boot(name, "m1", image)
    assert server["status"] == "ACTIVE", server
    return str(server["id"])


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``check`` held (AssertionError after ``timeout``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - started


def undefine(cloud: OrphanCloud, host: str, uuid: str) -> None:
    """Remove the guest's domain behind virtfleet's back."""
    domain = cloud.agent(host).driver.connection.lookupByUUIDString(uuid)  # type: ignore[attr-defined]
    if domain.isActive():
        domain.destroy()
    domain.undefine()


def vm_state(cloud: OrphanCloud, uuid: str) -> str:
    return servers.get(cloud.control.db, uuid).vm_state


def marked_error(cloud: OrphanCloud, uuid: str) -> bool:
    """ERROR and its claim given back (the conductor unclaims just after marking)."""
    return vm_state(cloud, uuid) == st.ERROR and cloud.allocation_hosts(uuid) == {}


def books(cloud: OrphanCloud) -> list[str]:
    guests = {host: cloud.domains(host) for host in HOSTS}
    return audit(cloud.control.db, cloud.control.placement, guests)


def test_an_agent_restarted_without_its_guests_marks_them_error_naming_the_host(
    cloud: OrphanCloud, image: str
) -> None:
    gone, kept = boot(cloud, image, "gone"), boot(cloud, image, "kept")
    host = cloud.host_of(gone)
    cloud.agent(host).stop()
    undefine(cloud, host, gone)  # the guest did not survive the agent's restart
    cloud.agent(host).start()

    took = wait_for(lambda: marked_error(cloud, gone), REFRESH + 2, "ERROR")
    assert took <= REFRESH + 1
    server = servers.get(cloud.control.db, gone)
    assert server.fault is not None
    assert server.fault["message"] == f"guest domain not found on host {host}"
    assert server.host is None and cloud.allocation_hosts(gone) == {}
    assert cloud.server(gone)["status"] == "ERROR"
    assert vm_state(cloud, kept) == st.ACTIVE  # its guest is where recorded: untouched
    assert books(cloud) == []
    cloud.delete_server(gone)  # an ERROR server without a guest deletes cleanly
    assert books(cloud) == []


def test_a_guest_undefined_while_the_agent_runs_is_marked_at_the_next_report(
    cloud: OrphanCloud, image: str
) -> None:
    uuid = boot(cloud, image, "undefined")
    host = cloud.host_of(uuid)
    undefine(cloud, host, uuid)
    wait_for(lambda: marked_error(cloud, uuid), 2 * REFRESH + 2, "ERROR")
    assert books(cloud) == []
    cloud.delete_server(uuid)


def test_a_domain_stopped_while_the_agent_was_away_turns_shutoff(
    cloud: OrphanCloud, image: str
) -> None:
    uuid = boot(cloud, image, "stopped")
    host = cloud.host_of(uuid)
    cloud.agent(host).stop()  # no lifecycle event reaches the conductor
    cloud.agent(host).driver.connection.lookupByUUIDString(uuid).destroy()  # type: ignore[attr-defined]
    cloud.agent(host).start()

    wait_for(lambda: vm_state(cloud, uuid) == st.STOPPED, REFRESH + 2, "SHUTOFF")
    assert cloud.server(uuid)["status"] == "SHUTOFF"
    assert servers.get(cloud.control.db, uuid).fault is None
    assert books(cloud) == []
    cloud.delete_server(uuid)


def test_servers_building_migrating_or_in_a_migration_are_left_alone(
    cloud: OrphanCloud, image: str
) -> None:
    db = cloud.control.db
    building, migrating, moving = (boot(cloud, image, n) for n in ("b", "m", "r"))
    conductor = cloud.control.conductor
    # The watchdog would recover these tasks: hold their locks as their workflows would.
    with conductor._locked(building), conductor._locked(migrating), conductor._locked(moving):
        servers.update(db, building, vm_state=st.BUILDING, task_state=st.SPAWNING)
        servers.update(db, migrating, task_state=st.MIGRATING)
        source = servers.get(db, moving)
        dest = next(h for h in HOSTS if h != source.host)
        migration = records.create(
            db,
            instance_uuid=moving,
            source_compute=source.host,
            source_node=source.host,
            dest_compute=dest,
            project_id=source.project_id,
            user_id=source.user_id,
        )
        records.update(db, migration.id, status=records.RUNNING)
        for uuid in (building, migrating, moving):
            undefine(cloud, cloud.host_of(uuid), uuid)
        marked = {host: conductor.reconcile_guests(host, cloud.domains(host)) for host in HOSTS}
        assert marked == {host: [] for host in HOSTS}
        time.sleep(2 * REFRESH)  # the agents' own reports leave them alone too
        assert vm_state(cloud, building) == st.BUILDING
        assert vm_state(cloud, migrating) == st.ACTIVE
        assert vm_state(cloud, moving) == st.ACTIVE
        for uuid in (building, migrating, moving):
            assert servers.get(db, uuid).fault is None
        # Their tasks and the migration end (still under the locks: no recovery runs).
        servers.update(db, building, vm_state=st.ACTIVE, task_state=None)
        servers.update(db, migrating, task_state=None)
        records.update(db, migration.id, status=records.FAILED, error="test")

    # Settled now and still without guests: the next report marks them.
    for uuid in (building, migrating, moving):
        wait_for(lambda u=uuid: marked_error(cloud, u), 2 * REFRESH + 2, "ERROR")  # type: ignore[misc]
    assert books(cloud) == []
