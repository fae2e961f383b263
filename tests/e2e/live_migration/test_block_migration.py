"""Block migration without shared storage: the decisions (shared or not, which flags,
which directory the source may delete), the destination's preparation with real
``qemu-img``, and whole migrations between simulated hosts whose agents have instance
paths of their own (block migration) or one shared path (no copy, nothing deleted).

Real hosts are not used: on one machine both agents see the same filesystem, so the
two-host setup cannot give separate instance directories (see docs/live-migration.md).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from support.harness import make_cloud
from support.migrate_helpers import migrate
from support.vgpu_cloud import restart_agent
from virtfleet import errors
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.models import metadata
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.virt.libvirt import migration

UUID = "6f1c9a4e-8f0b-4d0e-9a7d-0c8d2b7c1a11"
MIGRATION = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"


def data(**extra: Any) -> LibvirtLiveMigrateData:
    return LibvirtLiveMigrateData(
        migration_uuid=MIGRATION, instance_uuid=UUID, source_host="a", dest_host="b", **extra
    )


# -- decisions ---------------------------------------------------------------------


def test_source_files_are_removed_only_when_nothing_is_shared(tmp_path: pathlib.Path) -> None:
    mine = tmp_path / "a" / UUID
    mine.mkdir(parents=True)
    block = {"instance_dir": str(mine), "block_migration": True}
    assert migration.may_remove_source_files(data(**block)) == str(mine)
    # shared storage, or no block copy: never
    assert migration.may_remove_source_files(data(**block, is_shared_instance_path=True)) is None
    assert migration.may_remove_source_files(data(instance_dir=str(mine))) is None
    # a directory not named after the instance: never
    other = tmp_path / "a" / "guests"
    other.mkdir()
    assert (
        migration.may_remove_source_files(data(instance_dir=str(other), block_migration=True))
        is None
    )
    # the destination's marker of this migration is here: the source sees the very
    # directory the destination prepared, whatever the test file said
    migration.mark_prepared(str(mine), MIGRATION)
    assert migration.may_remove_source_files(data(**block)) is None


def test_whole_disks_are_copied_when_the_destination_lacks_the_backing_file() -> None:
    inc = migration.migration_flags(data(block_migration=True))
    full = migration.migration_flags(data(block_migration=True, full_disk_copy=True))
    assert (
        inc & libvirt.VIR_MIGRATE_NON_SHARED_INC and not inc & libvirt.VIR_MIGRATE_NON_SHARED_DISK
    )
    assert (
        full & libvirt.VIR_MIGRATE_NON_SHARED_DISK and not full & libvirt.VIR_MIGRATE_NON_SHARED_INC
    )
    shared = migration.migration_flags(data(is_shared_instance_path=True))
    assert not shared & (libvirt.VIR_MIGRATE_NON_SHARED_INC | libvirt.VIR_MIGRATE_NON_SHARED_DISK)


XML = f"""<domain type='kvm'><name>vf-x</name><uuid>{UUID}</uuid>
<metadata><vf:instance xmlns:vf='urn:x'><vf:dir>/a/inst/{UUID}</vf:dir></vf:instance></metadata>
<os><kernel>/images/vmlinuz</kernel></os>
<devices>
<disk type='file' device='disk'><source file='/a/inst/{UUID}/disk'/></disk>
<disk type='file' device='cdrom'><source file='/images/config.iso'/></disk>
<serial type='pty'><log file='/a/inst/{UUID}/console.log' append='on'/></serial>
</devices></domain>"""


def test_relocation_moves_every_path_inside_the_instance_directory_only() -> None:
    moved = migration.relocate_xml(XML, f"/a/inst/{UUID}", f"/b/inst/{UUID}")
    assert f"/b/inst/{UUID}/disk" in moved and f"/b/inst/{UUID}/console.log" in moved
    assert f">/b/inst/{UUID}<" in moved  # the metadata's instance dir
    assert "/a/inst" not in moved
    assert "/images/vmlinuz" in moved and "/images/config.iso" in moved  # outside: kept
    assert migration.relocate_xml(XML, f"/a/inst/{UUID}", f"/a/inst/{UUID}/") == XML
    # a sibling whose name only starts like the directory is not inside it
    assert migration.relocate(f"/a/inst/{UUID}-old/disk", f"/a/inst/{UUID}", "/b") == (
        f"/a/inst/{UUID}-old/disk"
    )


def test_local_disks_are_the_file_disks_inside_the_instance_directory() -> None:
    seen: list[str] = []

    def info(path: str) -> dict[str, Any]:
        seen.append(path)
        return {"format": "qcow2", "virtual-size": 1 << 30, "full-backing-filename": "/img/b"}

    disks = migration.local_disks(XML, f"/a/inst/{UUID}", info)
    assert seen == [f"/a/inst/{UUID}/disk"]  # not the ISO outside it
    assert disks == [
        {
            "path": f"/a/inst/{UUID}/disk",
            "format": "qcow2",
            "virtual_size": str(1 << 30),
            "backing": "/img/b",
            "backing_format": None,
        }
    ]


def test_local_disks_leave_out_read_only_disks_such_as_the_config_drive() -> None:
    """libvirt copies no read-only disk: the config drive travels in the migrate data
    instead, so no empty disk may be made for it on the destination."""
    inside = XML.replace(
        "<source file='/images/config.iso'/>",
        f"<source file='/a/inst/{UUID}/disk.config'/><readonly/>",
    )
    seen: list[str] = []

    def info(path: str) -> dict[str, Any]:
        seen.append(path)
        return {"format": "qcow2", "virtual-size": 1 << 30}

    disks = migration.local_disks(inside, f"/a/inst/{UUID}", info)
    assert seen == [f"/a/inst/{UUID}/disk"]
    assert [d["path"] for d in disks] == [f"/a/inst/{UUID}/disk"]


def qemu_img_info(path: pathlib.Path) -> dict[str, Any]:
    return migration.qemu_img_info(str(path))


def test_destination_disks_overlay_the_backing_file_it_has_else_whole(
    tmp_path: pathlib.Path,
) -> None:
    base = tmp_path / "base.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(base), "1M"], check=True)
    source_dir, target = tmp_path / "a" / UUID, tmp_path / "b" / UUID
    target.mkdir(parents=True)
    disk = {
        "path": str(source_dir / "disk"),
        "format": "qcow2",
        "virtual_size": str(2 << 20),
        "backing": str(base),
        "backing_format": "raw",
    }
    full = migration.create_target_disks(
        data(instance_dir=str(source_dir), local_disks=[disk]), str(target)
    )
    made = qemu_img_info(target / "disk")
    assert full is False and made["virtual-size"] == 2 << 20
    assert made["backing-filename"] == str(base)  # libvirt copies the increment only
    with pytest.raises(errors.Conflict, match="already exists"):
        migration.create_target_disks(
            data(instance_dir=str(source_dir), local_disks=[disk]), str(target)
        )
    (target / "disk").unlink()
    missing = {**disk, "backing": str(tmp_path / "not-here.raw")}
    full = migration.create_target_disks(
        data(instance_dir=str(source_dir), local_disks=[missing]), str(target)
    )
    made = qemu_img_info(target / "disk")
    assert full is True and "backing-filename" not in made  # whole disk copied
    assert made["virtual-size"] == 2 << 20


# -- simulated hosts ---------------------------------------------------------------


@pytest.fixture
def fleet(tmp_path: pathlib.Path) -> Iterator[Any]:
    """The harness cloud: its agents have data (and instance) directories of their own."""
    metadata()
    db = Database(f"sqlite:///{tmp_path / 'test.sqlite'}")
    Base.metadata.create_all(db.engine)
    built = make_cloud(tmp_path, db)
    yield built
    built.stop()


def other(host: str) -> str:
    return "small" if host == "big" else "big"


def test_without_shared_storage_the_guest_moves_into_the_destinations_directory(
    fleet: Any,
) -> None:
    server = fleet.boot()
    source, dest = server.host, other(server.host)
    source_dir = fleet.drivers[source].instance_dir(server.uuid)
    done = migrate(fleet, server.uuid, dest)
    assert (done.status, done.error) == ("completed", None)
    dest_dir = fleet.drivers[dest].instance_dir(server.uuid)
    assert dest_dir != source_dir and dest_dir.startswith(str(fleet.tmp_path / "agents" / dest))
    assert {"disk", "console.log"} <= set(os.listdir(dest_dir))
    xml = fleet.drivers[dest].get_domain_xml(server.uuid)
    assert f"{dest_dir}/disk" in xml and source_dir not in xml  # paths relocated
    assert not os.path.exists(source_dir)  # the source's own copy is gone
    assert servers.get(fleet.db, server.uuid).host == dest


def test_asking_for_shared_storage_without_it_is_refused(fleet: Any) -> None:
    server = fleet.boot()
    servers.update(fleet.db, server.uuid, task_state="migrating")
    started = fleet.conductor.live_migrations.start(server.uuid, other(server.host), False, False)
    fleet.conductor.drain(60)
    ended = records.get(fleet.db, started.id)
    assert ended.status == "error"
    assert "does not see the instance directory" in (ended.error or "")
    assert servers.get(fleet.db, server.uuid).host == server.host


def test_shared_instance_path_copies_nothing_and_deletes_nothing(
    fleet: Any, tmp_path: pathlib.Path
) -> None:
    shared = tmp_path / "shared-instances"
    for name in list(fleet.agents):
        restart_agent(fleet, name, types=(), libvirt__instances_path=str(shared))
    server = fleet.boot()
    source, dest = server.host, other(server.host)
    source_dir = fleet.drivers[source].instance_dir(server.uuid)
    done = migrate(fleet, server.uuid, dest)
    assert (done.status, done.error) == ("completed", None)
    assert fleet.drivers[dest].instance_dir(server.uuid) == source_dir
    assert {"disk", "console.log"} <= set(os.listdir(source_dir))  # kept: it is shared
    assert not [n for n in os.listdir(shared) if n.startswith(".vf-shared-test-")]
    server2 = fleet.boot()
    servers.update(fleet.db, server2.uuid, task_state="migrating")
    refused = fleet.conductor.live_migrations.start(server2.uuid, other(server2.host), True, False)
    fleet.conductor.drain(60)
    assert "shared with the destination" in (records.get(fleet.db, refused.id).error or "")
