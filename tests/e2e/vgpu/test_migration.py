"""Live migration of guests with vGPUs through the conductor's workflow, on simulated
hosts: version gates, type check, claims (next host when one cannot claim), success,
failure, abort, the upgrade pin, and post-copy never used."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from support.migrate_helpers import migrate, start_slow_migration
from support.vgpu_cloud import (
    MDEV_TYPE,
    TRAIT,
    fleet_text,
    make_vgpu_cloud,
    one_mdev_fleet,
    restart_agent,
)
from virtfleet.agent.mdev.assign import guest_mdev_uuids, mdevs_in_use
from virtfleet.agent.mdev.providers import active_mdevs, gpu_providers
from virtfleet.db import mdev_claims, servers
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.virt.libvirt.mdev import mdev_create_xml
from virtfleet.virt.libvirt.migration import migration_flags
from virtfleet.virt.sim.connection import SimConnection

VGPU_FLAVOR = {"resources:VGPU": "1", f"trait:{TRAIT}": "required"}


def vgpu_used(cloud: Any, host: str) -> int:
    """VGPU used on ``host``'s GPUs (placement)."""
    conn, conf = cloud.drivers[host].connection, cloud.agents[host].conf
    return sum(
        cloud.placement.provider_usages(g.uuid)[1].get("VGPU", 0)
        for g in gpu_providers(conn, conf, host)
    )


def mdev_of(cloud: Any, uuid: str) -> str:
    (mdev,) = guest_mdev_uuids(cloud.conductor.get_domain_xml(uuid))
    return mdev


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Any]:
    built = make_vgpu_cloud(tmp_path, db)
    yield built
    built.stop()


def test_success_moves_the_vgpu_and_releases_the_claim(cloud: Any) -> None:
    server = cloud.boot(**VGPU_FLAVOR)
    source, before = server.host, mdev_of(cloud, server.uuid)
    other = "vgpu-2" if source == "vgpu-1" else "vgpu-1"
    migration = migrate(cloud, server.uuid, other)
    assert (migration.status, migration.error) == ("completed", None)
    moved = servers.get(cloud.db, server.uuid)
    assert (moved.host, moved.vm_state, moved.task_state) == (other, "active", None)
    after = mdev_of(cloud, server.uuid)
    assert after != before  # the XML was rewritten to the destination's mdev
    assert {m.uuid: m.type_id for m in active_mdevs(cloud.drivers[other].connection)} == {
        after: MDEV_TYPE
    }
    assert (vgpu_used(cloud, other), vgpu_used(cloud, source)) == (1, 0)
    (parent,) = [m.parent for m in active_mdevs(cloud.drivers[other].connection)]
    (gpu,) = [g for g in gpu_providers(cloud.drivers[other].connection, cloud.agents[other].conf,
              other) if g.device == parent]  # fmt: skip
    assert cloud.placement.provider_usages(gpu.uuid)[1]["VGPU"] == 1  # the mdev's own GPU
    assert cloud.domains(source) == []
    assert mdev_claims.list_claims(cloud.db) == []


def test_failure_mid_way_leaves_the_guest_and_its_vgpu_on_the_source(cloud: Any) -> None:
    server = cloud.boot(**VGPU_FLAVOR)
    source, mdev = server.host, mdev_of(cloud, server.uuid)
    other = "vgpu-2" if source == "vgpu-1" else "vgpu-1"
    cloud.hypervisor(source).inject_migration_failure("perform")
    migration = migrate(cloud, server.uuid, other)
    # a libvirt job that failed (not aborted, not refused before it ran) is "failed"
    assert migration.status == records.FAILED
    assert "migration out job: injected failure in phase 'perform'" in (migration.error or "")
    assert servers.get(cloud.db, server.uuid).host == source
    assert mdev_of(cloud, server.uuid) == mdev
    assert (vgpu_used(cloud, source), vgpu_used(cloud, other)) == (1, 0)
    assert cloud.domains(other) == []
    assert mdev_claims.list_claims(cloud.db) == []


def test_abort_releases_the_claim(cloud: Any) -> None:
    server, other, started = start_slow_migration(cloud, VGPU_FLAVOR, 30.0)
    source = server.host
    assert len(mdev_claims.for_migration(cloud.db, started.uuid)) == 1  # held while it runs
    cloud.conductor.live_migrations.abort(server.uuid, started.id)
    cloud.conductor.drain(60)
    assert records.get(cloud.db, started.id).status == "cancelled"
    assert servers.get(cloud.db, server.uuid).host == source
    assert (vgpu_used(cloud, source), vgpu_used(cloud, other)) == (1, 0)
    assert mdev_claims.list_claims(cloud.db) == []


def lifecycle_events(cloud: Any, host: str) -> list[tuple[int, int]]:
    """(event, detail) of every lifecycle event on ``host`` from now on."""
    seen: list[tuple[int, int]] = []
    SimConnection(cloud.hypervisor(host)).domainEventRegisterAny(
        None,
        libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        lambda c, d, event, detail, o: seen.append((event, detail)),
        None,
    )
    return seen


def test_force_complete_pauses_never_post_copy_and_moves_the_vgpu(cloud: Any) -> None:
    server, other, started = start_slow_migration(cloud, VGPU_FLAVOR, 30.0)
    source = server.host
    job = cloud.hypervisor(source).record(server.uuid).job
    assert job is not None and not job.flags & libvirt.VIR_MIGRATE_POSTCOPY
    src_events, dst_events = lifecycle_events(cloud, source), lifecycle_events(cloud, other)
    forced_at = time.monotonic()
    cloud.conductor.live_migrations.force_complete(server.uuid, started.id)
    cloud.conductor.drain(60)
    assert time.monotonic() - forced_at < 10  # not the 30 s it would take
    assert records.get(cloud.db, started.id).status == records.COMPLETED
    assert servers.get(cloud.db, server.uuid).host == other
    assert (vgpu_used(cloud, other), vgpu_used(cloud, source)) == (1, 0)
    assert mdev_claims.list_claims(cloud.db) == []
    assert cloud.hypervisor(source).wait_for_events()
    suspended = libvirt.VIR_DOMAIN_EVENT_SUSPENDED
    assert (suspended, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED) in src_events
    assert (suspended, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY) not in src_events
    resumed = libvirt.VIR_DOMAIN_EVENT_RESUMED
    assert (resumed, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED) in dst_events
    assert (resumed, libvirt.VIR_DOMAIN_EVENT_RESUMED_POSTCOPY) not in dst_events


def test_unsupported_mdev_type_at_the_destination_is_refused(
    tmp_path: pathlib.Path, db: Database
) -> None:
    text = (
        fleet_text()
        + """
  - name: other
    memory_mb: 16384
    gpus:
      - address: "0000:3b:00.0"
        mdev_types:
          nvidia-223: {available: 4}
"""
    )
    cloud = make_vgpu_cloud(tmp_path, db, text)
    try:
        restart_agent(cloud, "other", types=("nvidia-223",))
        server = cloud.boot(**{"resources:VGPU": "1"})  # any type: lands on a vgpu host
        assert server.host in ("vgpu-1", "vgpu-2")
        migration = migrate(cloud, server.uuid, "other")
        assert migration.status == "error"
        assert "host other does not offer mdev type nvidia-222" in (migration.error or "")
        assert servers.get(cloud.db, server.uuid).host == server.host
        assert mdev_claims.list_claims(cloud.db) == []
        assert vgpu_used(cloud, "other") == 0
    finally:
        cloud.stop()


@pytest.mark.parametrize("old_side", ["source", "destination"])
def test_a_host_too_old_is_refused_naming_its_side(
    tmp_path: pathlib.Path, db: Database, old_side: str
) -> None:
    memory = 262144 if old_side == "source" else 16384  # boots land on the largest
    cloud = make_vgpu_cloud(tmp_path, db, fleet_text(old_gpu_host=True, old_memory_mb=memory))
    try:
        server = cloud.boot(**VGPU_FLAVOR)
        assert (server.host == "oldgpu") == (old_side == "source")
        target = "vgpu-1" if old_side == "source" else "oldgpu"
        migration = migrate(cloud, server.uuid, target)
        assert migration.status == "error"
        assert f"the {old_side} host is too old" in (migration.error or "")
        assert "libvirt >= 8.6.0 and QEMU >= 8.1.0" in (migration.error or "")
        assert servers.get(cloud.db, server.uuid).host == server.host
        assert mdev_claims.list_claims(cloud.db) == []
        assert vgpu_used(cloud, target) == 0
    finally:
        cloud.stop()


def test_a_destination_without_free_mdevs_makes_it_try_the_next_host(
    tmp_path: pathlib.Path, db: Database
) -> None:
    # vgpu-1 (most RAM) hosts the guest; vgpu-2 is tried first, but its only mdevs are
    # held by another migration that placement does not know about; vgpu-3 takes it.
    cloud = make_vgpu_cloud(
        tmp_path, db, one_mdev_fleet({"vgpu-1": 98304, "vgpu-2": 65536, "vgpu-3": 32768})
    )
    try:
        server = cloud.boot(**VGPU_FLAVOR)
        assert server.host == "vgpu-1"
        ghost = "aaaaaaaa-0000-4000-8000-000000000001"
        cloud.drivers["vgpu-2"].connection.nodeDeviceCreateXML(
            mdev_create_xml("pci_0000_3b_00_0", MDEV_TYPE, ghost), 0
        )
        mdev_claims.claim(cloud.db, "vgpu-2", "elsewhere", "ghost", {"src": ghost}, {})
        migration = migrate(cloud, server.uuid, None)
        assert (migration.status, migration.dest_compute) == ("completed", "vgpu-3")
        assert servers.get(cloud.db, server.uuid).host == "vgpu-3"
        assert [c.migration_uuid for c in mdev_claims.list_claims(cloud.db)] == ["ghost"]
        assert (vgpu_used(cloud, "vgpu-1"), vgpu_used(cloud, "vgpu-3")) == (0, 1)
    finally:
        cloud.stop()


def test_an_agent_pinned_below_mdev_support_is_refused_as_destination(cloud: Any) -> None:
    server = cloud.boot(**VGPU_FLAVOR)
    other = "vgpu-2" if server.host == "vgpu-1" else "vgpu-1"
    cloud.conductor.live_migrations._conf.set_override("compute", "1.0", group="upgrade_levels")
    migration = migrate(cloud, server.uuid, other)
    assert migration.status == "error"
    assert f"host {other} is pinned to compute object version 1.0" in (migration.error or "")
    assert servers.get(cloud.db, server.uuid).host == server.host
    assert mdev_claims.list_claims(cloud.db) == []


def test_post_copy_is_never_asked_for_a_guest_with_mdevs() -> None:
    data = LibvirtLiveMigrateData(
        migration_uuid="aaaaaaaa-0000-4000-8000-000000000002",
        instance_uuid="aaaaaaaa-0000-4000-8000-000000000003",
        source_host="a",
        dest_host="b",
        source_mdev_types={"m": MDEV_TYPE},
    )
    for block in (False, True):
        data.block_migration = block
        assert not migration_flags(data) & libvirt.VIR_MIGRATE_POSTCOPY


def test_destination_agent_restart_mid_migration_neither_leaks_nor_double_assigns(
    cloud: Any,
) -> None:
    server, other, started = start_slow_migration(cloud, VGPU_FLAVOR, 1.5)
    source = server.host
    (claim,) = mdev_claims.for_migration(cloud.db, started.uuid)
    restart_agent(cloud, other)  # the destination's agent dies and comes back
    # still held: by the claim, or by the incoming domain that names it
    held = mdev_claims.claimed_uuids(cloud.db, other)
    assert claim.mdev_uuid in held | set(mdevs_in_use(cloud.drivers[other].connection))
    cloud.conductor.drain(60)
    assert records.get(cloud.db, started.id).status == "completed"
    assert mdev_of(cloud, server.uuid) == claim.mdev_uuid
    assert (vgpu_used(cloud, other), vgpu_used(cloud, source)) == (1, 0)
    assert mdev_claims.list_claims(cloud.db) == []
    # a new guest on the destination gets another mdev
    cloud.occupy(source, 65536 - 256)  # only the destination can take it
    second = cloud.boot(**VGPU_FLAVOR)
    assert second.host == other
    assert mdev_of(cloud, second.uuid) != claim.mdev_uuid


def test_two_migrations_racing_for_the_last_mdev_one_wins(
    tmp_path: pathlib.Path, db: Database
) -> None:
    # two guests on two sources, both sent at once to "dest", which has one mdev left
    cloud = make_vgpu_cloud(
        tmp_path, db, one_mdev_fleet({"src-1": 98304, "src-2": 81920, "dest": 16384})
    )
    try:
        first, second = cloud.boot(**VGPU_FLAVOR), cloud.boot(**VGPU_FLAVOR)
        assert {first.host, second.host} == {"src-1", "src-2"}
        for host in ("src-1", "src-2"):
            cloud.hypervisor(host).migration_duration = 0.5  # the two overlap
        started = [migrate(cloud, s.uuid, "dest", wait=False) for s in (first, second)]
        cloud.conductor.drain(60)
        ended = [records.get(cloud.db, m.id) for m in started]
        assert sorted(m.status for m in ended) == ["completed", "error"], ended
        (winner,) = [m for m in ended if m.status == "completed"]
        (loser,) = [m for m in ended if m.status == "error"]
        assert servers.get(cloud.db, winner.instance_uuid).host == "dest"
        assert servers.get(cloud.db, loser.instance_uuid).host == loser.source_compute
        assert loser.source_compute is not None
        assert vgpu_used(cloud, "dest") == 1  # the winner's only
        assert vgpu_used(cloud, loser.source_compute) == 1  # the loser's, kept
        assert cloud.placement.get_consumer_allocations(loser.uuid).allocations == {}
        assert mdev_claims.list_claims(cloud.db) == []
        assert cloud.domains("dest") == [winner.instance_uuid]
        assert mdev_of(cloud, winner.instance_uuid) != mdev_of(cloud, loser.instance_uuid)
    finally:
        cloud.stop()
