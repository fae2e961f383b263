"""Unshelve of an offloaded server as a move on the shared steps, on fakes and a real
database: a failure at each step (the shelve image, the scheduler, the claim, the
ports' binding, the spawn) undoes that try — no allocation, no claim, the ports
down, no domain left, the server on no host — and the next candidate is tried, the
final message naming every host's reason; the zone and host of 2.77 / 2.91."""

from __future__ import annotations

import types
from typing import Any, cast

import pytest

from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.conductor.moves.unshelve_flow import Unshelve, UnshelveFlow
from virtfleet.db import hosts, servers
from virtfleet.db.engine import Database
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.instance import InstanceSpec
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec

SHELVE_IMAGE = "0d9c5e51-3b3e-4c39-a7d4-3f7b0d6b7a01"
HOSTS = ("un-a", "un-b", "un-c")


def add_host(db: Database, name: str) -> None:
    report = types.SimpleNamespace(
        host=name, hypervisor_hostname=name, hypervisor_type="QEMU",
        hypervisor_version=1, vcpus=4, memory_mb=4096, local_gb=10,
    )  # fmt: skip
    hosts.upsert_host(db, report, {})


def offloaded(db: Database, zone: str | None = None) -> servers.Server:
    server = servers.create(
        db,
        guest_request=GuestRequest(),
        name="vm-shelved",
        flavor={"name": "f", "vcpus": 1, "memory_mb": 512, "root_gb": 1},
        image_ref="boot-image",
        image={},
        project_id="p",
        user_id="u",
        availability_zone=zone,
    )
    return servers.update(
        db,
        server.uuid,
        vm_state="shelved_offloaded",
        task_state="unshelving",
        host=None,
        system_metadata={"shelved_image_id": SHELVE_IMAGE},
    )


class FakeScheduler:
    """Offers the hosts not ignored, in order; ``lose`` hosts lose their claim."""

    def __init__(self, offered: tuple[str, ...] = HOSTS, lose: tuple[str, ...] = ()) -> None:
        self.offered = offered
        self.lose = lose
        self.held: dict[str, str] = {}  # instance -> host
        self.specs: list[RequestSpec] = []

    def select_destinations(
        self, spec: RequestSpec, max_results: int | None = None
    ) -> list[Selection]:
        self.specs.append(spec)
        names = [h for h in self.offered if h not in spec.ignore_hosts]
        if spec.requested_host is not None:
            names = [h for h in names if h == spec.requested_host]
        if not names:
            raise errors.NoValidHost("0 hosts fit")
        return [Selection(h, hosts.host_uuid(h), {f"rp-{h}": {"VCPU": 1}}, 1.0) for h in names][
            :max_results
        ]

    def claim(self, spec: RequestSpec, selection: Selection) -> Selection:
        if selection.host in self.lose:
            raise errors.Conflict("over capacity")
        self.held[spec.instance_uuid] = selection.host
        return selection

    def unclaim(self, instance_uuid: str) -> None:
        self.held.pop(instance_uuid, None)


class FakeAgents:
    """Spawns fail on the ``broken`` hosts (after defining something there)."""

    def __init__(self, broken: tuple[str, ...] = ()) -> None:
        self.broken = broken
        self.domains: dict[str, str] = {}  # instance -> host
        self.spawned: list[tuple[str, InstanceSpec]] = []

    def spawn(self, host: str, instance: InstanceSpec) -> None:
        self.spawned.append((host, instance))
        self.domains[instance.uuid] = host
        if host in self.broken:
            raise errors.HypervisorError(f"spawn on {host}: no memory", 1)

    def destroy(self, host: str, instance_uuid: str, shutdown_timeout: int = 0) -> None:
        if self.domains.get(instance_uuid) != host:
            raise errors.NotFound(f"{instance_uuid} is not on {host}")
        del self.domains[instance_uuid]


class FakeNetworks:
    """Binding fails on the ``broken`` hosts; the ports' status as last set."""

    def __init__(self, broken: tuple[str, ...] = ()) -> None:
        self.broken = broken
        self.bound: list[str] = []
        self.status = "DOWN"

    def bind(self, server_uuid: str, host: str) -> list[Any]:
        if host in self.broken:
            raise errors.Conflict(f"port binding to {host} failed: segment unreachable")
        self.bound.append(host)
        return []

    def set_status(self, server_uuid: str, status: str) -> None:
        self.status = status


class FakeImages:
    def __init__(self, present: bool = True) -> None:
        self.present = present

    def get(self, image_id: str) -> Any:
        if not self.present:
            raise errors.NotFound(image_id)
        return types.SimpleNamespace(
            id=image_id, status="active", disk_format="qcow2", size=65536,
            checksum=None, os_hash_algo=None, os_hash_value=None,
        )  # fmt: skip

    def has_data(self, image_id: str) -> bool:
        return self.present


@pytest.fixture
def fleet(db: Database) -> Database:
    for name in HOSTS:
        add_host(db, name)
    return db


def flow(
    db: Database,
    server: servers.Server,
    scheduler: FakeScheduler,
    agents: FakeAgents,
    networks: FakeNetworks | None = None,
    where: Unshelve | None = None,
    images: FakeImages | None = None,
) -> UnshelveFlow:
    conf = vconf.make_conf(scheduler__max_attempts=3)
    return UnshelveFlow(
        conf,
        db,
        cast(Any, agents),
        scheduler,
        cast(Any, images or FakeImages()),
        server,
        where or Unshelve(),
        cast(Any, networks),
    )


def nothing_left(db: Database, uuid: str, scheduler: FakeScheduler, agents: FakeAgents) -> None:
    assert scheduler.held == {}  # no claim, no allocation
    assert agents.domains == {}  # no stray domain
    assert servers.get(db, uuid).host is None and servers.get(db, uuid).node is None


def test_it_spawns_from_the_shelve_image_on_the_first_host(fleet: Database) -> None:
    server = offloaded(fleet)
    scheduler, agents, networks = FakeScheduler(), FakeAgents(), FakeNetworks()
    chosen = flow(fleet, server, scheduler, agents, networks).run()
    assert isinstance(chosen, Selection) and chosen.host == "un-a"
    assert scheduler.held == {server.uuid: "un-a"} and agents.domains == {server.uuid: "un-a"}
    ((_, spec),) = agents.spawned
    assert spec.image_id == SHELVE_IMAGE and spec.allocations == {"rp-un-a": {"VCPU": 1}}
    assert networks.bound == ["un-a"] and networks.status == "ACTIVE"
    assert servers.get(fleet, server.uuid).host == "un-a"


def test_a_failure_at_each_step_is_undone_and_named_then_the_next_host_runs_it(
    fleet: Database,
) -> None:
    """un-a loses its claim, un-b cannot bind the ports, un-c fails to spawn: nothing
    held anywhere, each reason in the message."""
    server = offloaded(fleet)
    scheduler = FakeScheduler(lose=("un-a",))
    agents, networks = FakeAgents(broken=("un-c",)), FakeNetworks(broken=("un-b",))
    failure = flow(fleet, server, scheduler, agents, networks).run()
    assert isinstance(failure, str)
    assert failure.startswith(f"Unshelve of {server.uuid}: 3 hosts refused"), failure
    assert "un-a: lost the claim to a concurrent request (over capacity)" in failure
    assert "un-b: port binding to un-b failed: segment unreachable" in failure
    assert "un-c: spawn on un-c: no memory" in failure
    nothing_left(fleet, server.uuid, scheduler, agents)
    assert networks.status == "DOWN"
    assert [h for h, _ in agents.spawned] == ["un-c"]  # the refused ones never spawned

    # the hosts are well again: the next unshelve runs on the best one
    agents.broken, networks.broken = (), ()
    chosen = flow(fleet, server, FakeScheduler(), agents, networks).run()
    assert isinstance(chosen, Selection) and chosen.host == "un-a"


def test_a_spawn_failure_moves_on_to_the_next_host(fleet: Database) -> None:
    server = offloaded(fleet)
    scheduler, agents = FakeScheduler(), FakeAgents(broken=("un-a",))
    chosen = flow(fleet, server, scheduler, agents).run()
    assert isinstance(chosen, Selection) and chosen.host == "un-b"
    assert scheduler.held == {server.uuid: "un-b"} and agents.domains == {server.uuid: "un-b"}
    assert len(scheduler.specs) == 1  # the next candidate of the same answer


def test_a_named_host_is_the_only_try(fleet: Database) -> None:
    server = offloaded(fleet)
    scheduler, agents = FakeScheduler(), FakeAgents(broken=("un-b",))
    failure = flow(fleet, server, scheduler, agents, where=Unshelve(host="un-b")).run()
    assert failure == f"Unshelve of {server.uuid}: 1 host refused — un-b: spawn on un-b: no memory"
    nothing_left(fleet, server.uuid, scheduler, agents)
    assert [h for h, _ in agents.spawned] == ["un-b"]


def test_no_host_or_no_image_holds_nothing(fleet: Database) -> None:
    server = offloaded(fleet)
    scheduler, agents = FakeScheduler(offered=()), FakeAgents()
    assert flow(fleet, server, scheduler, agents).run() == (
        f"Unshelve of {server.uuid}: 0 hosts fit"
    )
    nothing_left(fleet, server.uuid, scheduler, agents)

    scheduler = FakeScheduler()
    gone = flow(fleet, server, scheduler, agents, images=FakeImages(present=False)).run()
    assert gone == f"cannot unshelve: image {SHELVE_IMAGE} of the server no longer exists"
    assert scheduler.specs == []  # never scheduled
    nothing_left(fleet, server.uuid, scheduler, agents)


def test_the_zone_and_host_of_the_request(fleet: Database) -> None:
    server = offloaded(fleet, zone="az1:un-c")
    scheduler = FakeScheduler()
    base = flow(fleet, server, scheduler, FakeAgents())
    spec = base.spec_for(frozenset({"un-a"}))
    assert (spec.availability_zone, spec.requested_host) == ("az1", "un-c")
    assert spec.ignore_hosts == frozenset({"un-a"}) and spec.instance_uuid == server.uuid
    named = flow(fleet, server, scheduler, FakeAgents(), where=Unshelve(zone="az2", host="un-b"))
    spec = named.spec_for(frozenset())
    assert (spec.availability_zone, spec.requested_host) == ("az2", "un-b")
    unpinned = flow(fleet, server, scheduler, FakeAgents(), where=Unshelve(unpin=True))
    assert unpinned.spec_for(frozenset()).availability_zone is None
    assert Unshelve(unpin=True).zone_fields() == {"availability_zone": None}
    assert Unshelve(zone="az2").zone_fields() == {"availability_zone": "az2"}
    assert Unshelve().zone_fields() == {}
