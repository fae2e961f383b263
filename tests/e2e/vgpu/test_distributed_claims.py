"""Mdev claims as in distributed mode: every agent keeps its own claims in its data
directory (no database shared with the control plane). The destination agent's store
is the one that makes claimed mdevs count as used, it survives the agent's restart in
the middle of a migration, and the agent reaps it (asking the control plane which
migrations ended), since the control plane's reaper cannot see it."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from tests.e2e.vgpu.test_migration import VGPU_FLAVOR, mdev_of, vgpu_used

from support.ci import time_bound
from support.migrate_helpers import start_slow_migration
from support.vgpu_cloud import MDEV_TYPE, make_vgpu_cloud, restart_agent
from virtfleet.agent.mdev.claims import CLAIMS_FILE
from virtfleet.db import mdev_claims
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData

SRC = "11111111-1111-4111-8111-111111111111"


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Any]:
    built = make_vgpu_cloud(tmp_path, db, local_claims=True)
    yield built
    built.stop()


def claims_of(cloud: Any, host: str) -> set[str]:
    return cloud.agents[host].vgpus.store.claimed()


def test_destination_restart_mid_migration_keeps_its_own_claim(cloud: Any) -> None:
    # long enough that the migration still runs after the agent's restart, even on
    # shared cores
    server, dest, started = start_slow_migration(cloud, VGPU_FLAVOR, time_bound(3.0))
    source = server.host
    (claimed,) = claims_of(cloud, dest)
    assert claims_of(cloud, source) == set()
    assert mdev_claims.list_claims(cloud.db) == []  # nothing in the control plane's database
    assert (cloud.tmp_path / "agents" / dest / CLAIMS_FILE).is_file()
    restart_agent(cloud, dest)  # dies and comes back on the same data directory
    assert claims_of(cloud, dest) == {claimed}  # persisted, not reaped: still running
    cloud.conductor.drain(60)
    assert records.get(cloud.db, started.id).status == "completed"
    assert mdev_of(cloud, server.uuid) == claimed
    assert claims_of(cloud, dest) == set()  # released by the post-migration step
    assert (vgpu_used(cloud, dest), vgpu_used(cloud, source)) == (1, 0)
    cloud.occupy(source, 65536 - 256)  # only the destination can take the next guest
    second = cloud.boot(**VGPU_FLAVOR)
    assert second.host == dest and mdev_of(cloud, second.uuid) != claimed


def test_a_claimed_mdev_is_used_for_the_destination_only(cloud: Any) -> None:
    incoming = LibvirtLiveMigrateData(
        migration_uuid="aaaaaaaa-0000-4000-8000-0000000000a1",
        instance_uuid="aaaaaaaa-0000-4000-8000-0000000000a2",
        source_host="vgpu-1",
        dest_host="vgpu-2",
        source_mdev_types={SRC: MDEV_TYPE},
    )
    (claimed,) = cloud.agents["vgpu-2"].vgpus.claim_destination(incoming).values()
    assert claims_of(cloud, "vgpu-2") == {claimed} and claims_of(cloud, "vgpu-1") == set()
    cloud.occupy("vgpu-1", 65536 - 256)
    guests = [cloud.boot(**VGPU_FLAVOR) for _ in range(3)]
    assert {g.host for g in guests} == {"vgpu-2"}
    assert claimed not in {mdev_of(cloud, g.uuid) for g in guests}


def test_agent_reaps_claims_of_migrations_the_control_plane_says_ended(cloud: Any) -> None:
    server = cloud.boot(**VGPU_FLAVOR)
    dest = "vgpu-2" if server.host == "vgpu-1" else "vgpu-1"
    vgpus = cloud.agents[dest].vgpus

    def record(status: str) -> str:
        created = records.create(
            cloud.db,
            instance_uuid=server.uuid,
            source_compute=server.host,
            source_node=server.host,
            project_id="p",
            user_id="u",
        )
        records.update(cloud.db, created.id, status=status)
        return created.uuid

    running, failed = record("running"), record("failed")
    unknown = "aaaaaaaa-0000-4000-8000-0000000000ff"
    for migration in (running, failed, unknown):
        vgpus.claim_destination(
            LibvirtLiveMigrateData(
                migration_uuid=migration,
                instance_uuid=server.uuid,
                source_host=server.host,
                dest_host=dest,
                source_mdev_types={SRC: MDEV_TYPE},
            )
        )
    assert len(claims_of(cloud, dest)) == 3
    assert sorted(cloud.agents[dest].reap_mdev_claims()) == sorted([failed, unknown])
    assert vgpus.claimed_migrations() == [running]  # in progress: kept
    # the control plane unreachable: only local evidence and age count, nothing goes
    cloud.conductor.stop()
    assert cloud.agents[dest].reap_mdev_claims() == []
    assert vgpus.claimed_migrations() == [running]
