"""The audit finds every disagreement between servers, placement and the hosts."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from support.harness import Cloud, make_cloud
from virtfleet.conductor.audit import audit
from virtfleet.db import mdev_claims, servers
from virtfleet.db.engine import Database


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Cloud]:
    built = make_cloud(tmp_path, db)
    yield built
    built.stop()


def guests(cloud: Cloud) -> dict[str, list[str]]:
    return {host: cloud.domains(host) for host in cloud.drivers}


def test_balanced_books_have_no_findings(cloud: Cloud) -> None:
    cloud.boot()
    cloud.boot(vcpus=2, memory_mb=1024)
    failed = cloud.boot(memory_mb=10**6)  # no host fits: ERROR with a fault
    assert failed.vm_state == "error"
    assert audit(cloud.db, cloud.placement, guests(cloud)) == []


def test_each_disagreement_is_one_line(cloud: Cloud) -> None:
    stuck = cloud.boot()
    servers.update(cloud.db, stuck.uuid, task_state="spawning")
    leaked = cloud.boot()
    servers.delete(cloud.db, leaked.uuid)  # row gone, allocation and guest left
    unbacked = cloud.boot()
    cloud.placement.delete_allocations(unbacked.uuid)
    silent = cloud.boot()
    servers.set_fault(cloud.db, silent.uuid, "", vm_state="error")
    found = audit(cloud.db, cloud.placement, guests(cloud))
    assert f"server {stuck.uuid}: still active/spawning" in found
    assert any(f"consumer {leaked.uuid} is no live server" in line for line in found)
    assert f"host big: guest {leaked.uuid} is no server of this host" in found
    assert f"server {unbacked.uuid} on big: allocations on []" in found
    assert f"server {silent.uuid}: ERROR without a fault saying why" in found


SOURCE_MDEV = "0b7e3c1e-3333-4b5c-9d3e-5f6a7b8c9d0e"
TARGET_MDEV = "0b7e3c1e-4444-4b5c-9d3e-5f6a7b8c9d0e"


def test_leaked_instance_directories_and_mdev_claims_are_named(cloud: Cloud) -> None:
    """What the kill -9 test found once: directories of interrupted builds."""
    kept = cloud.boot()
    failed = cloud.boot(memory_mb=10**6)
    ghost = "0b7e3c1e-1111-4b5c-9d3e-5f6a7b8c9d0e"
    mdev_claims.claim(
        cloud.db,
        host="big",
        instance_uuid=ghost,
        migration_uuid="0b7e3c1e-2222-4b5c-9d3e-5f6a7b8c9d0e",
        target_mdevs={SOURCE_MDEV: TARGET_MDEV},
        source_mdev_types={SOURCE_MDEV: "nvidia-222"},
    )
    found = audit(
        cloud.db, cloud.placement, guests(cloud), instance_dirs=[kept.uuid, failed.uuid, ghost]
    )
    assert found == [
        f"mdev claim {TARGET_MDEV} on big: {ghost} is no live server",
        *(  # directories in the audit's order: by uuid (the failed one's is random)
            f"instance directory {uuid}: no live server with a host"
            for uuid in sorted([ghost, failed.uuid])
        ),
    ]
