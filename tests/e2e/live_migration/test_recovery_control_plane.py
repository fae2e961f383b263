"""The control plane stops while a live migration is in flight and a new one starts on
the same data directory, as after a crash of ``virtfleet up``/``virtfleet server``:
its watchdog finds the migration, asks the agents where the guest is and finishes it
(or rolls it back), with nothing left held. Agents and simulated hosts live on.

The old control plane "stops" by hanging every RPC call from a chosen one on (a dead
process makes no further calls and writes nothing); its threads are unwound at the end.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from support.control import guest_request_of
from support.harness import wait_for
from support.migration_cloud import FLEET
from support.transports import HangingTransport
from virtfleet import conf as vconf
from virtfleet.agent.manager import ComputeAgent
from virtfleet.agent.mdev.claims import MdevClaimStore
from virtfleet.agent.rpcapi import CONDUCTOR_SERVER, CONDUCTOR_TOPIC
from virtfleet.api.compute.boot_checks import image_snapshot
from virtfleet.control_plane import ControlPlane, ImageServiceSource, build_agent
from virtfleet.db import flavors, hosts, servers
from virtfleet.db import migration_records as records
from virtfleet.rpc.transport import LocalTransport
from virtfleet.virt.sim import Fleet, hypervisor_for, load_fleet
from virtfleet.virt.sim.agentconf import conf_overrides


class Site:
    """A data directory, a fleet, the agents, and whichever control plane runs."""

    def __init__(self, tmp: pathlib.Path) -> None:
        self.conf = vconf.make_conf(
            data_dir=str(tmp / "data"),
            scheduler__host_cache_seconds=0,
            libvirt__live_migration_progress_interval=0.02,
            compute__host_down_after=3,  # watchdog rounds every second
        )
        self.fleet: Fleet = load_fleet(FLEET, source="migration-fleet.yaml")
        self.transport = LocalTransport()
        self.control: ControlPlane | None = None
        self.agents: list[ComputeAgent] = []
        self.stopping: HangingTransport | None = None

    def start_control(self, transport: Any) -> ControlPlane:
        self.control = ControlPlane(self.conf, transport)
        self.control.start()
        return self.control

    def start_agents(self) -> None:
        assert self.control is not None
        for profile in self.fleet.hosts:
            overrides = {"data_dir": self.conf.data_dir, **conf_overrides(profile)}
            claims = MdevClaimStore(self.control.db, profile.name)
            agent = build_agent(
                profile.name, f"sim://{profile.name}", overrides, (), self.fleet,
                self.transport, claims, ImageServiceSource(self.control.images),
            )  # fmt: skip
            agent.start()
            self.agents.append(agent)

    def boot(self) -> servers.Server:
        control = self.control
        assert control is not None
        image = control.images.create(
            {"name": "tiny", "disk_format": "raw", "container_format": "bare"}
        )
        control.images.upload(image.id, [b"\0" * 4096])
        flavor = flavors.create(control.db, name="m1", vcpus=1, memory_mb=1024, root_gb=1)
        server = servers.create(
            control.db,
            name="vm",
            flavor=flavor.snapshot(),
            image_ref=image.id,
            image=dict(image_snapshot(control.images.get(image.id))),
            guest_request=guest_request_of(
                flavor.snapshot(), image_snapshot(control.images.get(image.id))
            ),
            project_id="project",
            user_id="user",
        )
        control.conductor.build_server(server.uuid)
        control.conductor.drain(30)
        return servers.get(control.db, server.uuid)

    def stop(self) -> None:
        if self.stopping is not None:
            self.stopping.close()
        for agent in self.agents:
            agent.stop()
        if self.control is not None:
            self.control.stop()
        self.transport.close()


@pytest.fixture
def site(tmp_path: pathlib.Path) -> Iterator[Site]:
    built = Site(tmp_path)
    yield built
    built.stop()


def stop_mid_migration(site: Site, at_method: str) -> tuple[servers.Server, records.Migration]:
    site.stopping = HangingTransport(site.transport, at_method)
    old = site.start_control(site.stopping)
    site.start_agents()
    server = site.boot()
    assert server.vm_state == "active" and server.host == "a", server
    servers.update(old.db, server.uuid, task_state="migrating")
    migration = old.conductor.live_migrations.start(server.uuid, "b", "auto", False)
    assert site.stopping.stopped.wait(10), f"the migration never reached {at_method}"
    site.transport.stop_serving(CONDUCTOR_TOPIC, CONDUCTOR_SERVER)  # the process is gone
    old.conductor.membership.stop()  # and so is its heartbeat: its work may be taken over
    return server, migration


def allocation_hosts(control: ControlPlane, consumer: str) -> set[str]:
    names = {hosts.get_host_by_name(control.db, h).uuid: h for h in ("a", "b", "c")}
    held = control.placement.get_consumer_allocations(consumer).allocations
    return {names.get(rp, rp) for rp in held}


def test_new_control_plane_on_the_same_data_dir_finishes_the_migration(site: Site) -> None:
    for host in ("a", "b"):
        hypervisor_for(site.fleet, host).migration_duration = 1.0
    server, migration = stop_mid_migration(site, "live_migration_progress")
    new = site.start_control(site.transport)  # same data directory, same database
    assert wait_for(lambda: not records.get(new.db, migration.id).in_progress, 30)
    # The record ends first; the server's task state is cleared in the next write.
    assert wait_for(lambda: servers.get(new.db, server.uuid).task_state is None, 10)
    assert records.get(new.db, migration.id).status == "completed"
    moved = servers.get(new.db, server.uuid)
    assert (moved.host, moved.vm_state, moved.task_state) == ("b", "active", None)
    assert allocation_hosts(new, server.uuid) == {"b"}
    assert allocation_hosts(new, migration.uuid) == set()
    assert [r.definition.uuid for r in hypervisor_for(site.fleet, "a").records()] == []


def test_new_control_plane_rolls_back_a_migration_that_never_copied(site: Site) -> None:
    server, migration = stop_mid_migration(site, "pre_live_migration")
    old = site.control
    assert old is not None
    # the destination was claimed: the server holds it, the migration the source
    assert allocation_hosts(old, server.uuid) == {"b"}
    assert allocation_hosts(old, migration.uuid) == {"a"}
    new = site.start_control(site.transport)
    assert wait_for(lambda: not records.get(new.db, migration.id).in_progress, 30)
    # The record ends first; the server's task state is cleared in the next write.
    assert wait_for(lambda: servers.get(new.db, server.uuid).task_state is None, 10)
    ended = records.get(new.db, migration.id)
    assert ended.status == "error" and "rolled back" in (ended.error or "")
    kept = servers.get(new.db, server.uuid)
    assert (kept.host, kept.vm_state, kept.task_state) == ("a", "active", None)
    assert allocation_hosts(new, server.uuid) == {"a"}
    assert allocation_hosts(new, migration.uuid) == set()
    assert [r.definition.uuid for r in hypervisor_for(site.fleet, "b").records()] == []
