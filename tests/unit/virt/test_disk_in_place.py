"""The driver's side of an evacuation on shared storage, on two simulated hosts whose
drivers share one instances path (as hosts on one NFS export do) and a third with a
path of its own: ``instance_on_disk`` says whether the guest's disk is there, a
spawn with ``disk_in_place`` defines the guest with that disk as it is (what the
guest wrote stays), a failed one removes the domain and keeps the disk, and a host
that does not see the disk refuses before making anything."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from support.guest import with_guest
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import load_fleet
from virtfleet.virt.types import GuestSpec

FLEET = """\
version: 1
hosts:
  - {name: shared, count: 3, arch: x86_64, virt_type: kvm, cpus: 2, memory_mb: 4096}
"""
MARK = b"written by the guest"


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[tuple[LibvirtDriver, LibvirtDriver, LibvirtDriver]]:
    """shared-1 and shared-2 share ``tmp/shared``; shared-3 has ``tmp/own``."""
    fleet = load_fleet(FLEET, source="shared.yaml")
    conns = [open_connection(f"sim://shared-{n}", fleet) for n in (1, 2, 3)]
    dirs = (tmp_path / "shared", tmp_path / "shared", tmp_path / "own")
    drivers = [
        LibvirtDriver(conn, make_conf(data_dir=str(d), libvirt__virt_type="qemu"))
        for conn, d in zip(conns, dirs, strict=True)
    ]
    yield drivers[0], drivers[1], drivers[2]
    for conn in conns:
        conn.close()


def spec_for(tmp_path: Path, **changes: Any) -> GuestSpec:
    image = tmp_path / "image.raw"
    image.write_bytes(b"\0" * 65536)
    values: dict[str, Any] = {
        "instance_uuid": str(uuid.uuid4()),
        "name": "evacuee",
        "vcpus": 1,
        "memory_mb": 64,
        "image_properties": {"hw_architecture": "x86_64"},
        "image_path": str(image),
        "image_format": "raw",
    }
    values.update(changes)
    return with_guest(GuestSpec(**values))


def disk_of(tmp_path: Path, where: str, uid: str) -> Path:
    return tmp_path / where / "instances" / uid / "disk"


def spawned_and_written(source: LibvirtDriver, spec: GuestSpec, tmp_path: Path) -> Path:
    """``spec`` spawned on ``source`` over the shared path, its guest having written
    :data:`MARK` to its disk; that disk."""
    source.spawn(spec)
    disk = disk_of(tmp_path, "shared", spec.instance_uuid)
    with disk.open("ab") as written:
        written.write(MARK)
    return disk


def test_instance_on_disk_where_the_instances_path_is_shared(
    hosts: tuple[LibvirtDriver, LibvirtDriver, LibvirtDriver], tmp_path: Path
) -> None:
    source, peer, alone = hosts
    spec = spec_for(tmp_path)
    uid = spec.instance_uuid
    assert not peer.instance_on_disk(uid)  # nothing yet
    source.spawn(spec)
    assert source.instance_on_disk(uid) and peer.instance_on_disk(uid)
    assert not alone.instance_on_disk(uid)
    instance_dir = disk_of(tmp_path, "shared", uid).parent
    assert sorted(p.name for p in instance_dir.iterdir()) == ["console.log", "disk"]  # no probe


def test_a_spawn_with_the_disk_in_place_keeps_the_guests_disk(
    hosts: tuple[LibvirtDriver, LibvirtDriver, LibvirtDriver], tmp_path: Path
) -> None:
    source, dest, _ = hosts
    spec = spec_for(tmp_path)
    uid = spec.instance_uuid
    disk = spawned_and_written(source, spec, tmp_path)
    # the source is dead; the destination has its own cached copy of the image
    own_copy = tmp_path / "dest-cache" / "image.raw"
    own_copy.parent.mkdir()
    own_copy.write_bytes(Path(str(spec.image_path)).read_bytes())
    dest.spawn(dataclasses.replace(spec, disk_in_place=True, image_path=str(own_copy)))
    assert dest.get_power_state(uid) == "running"
    assert f'<source file="{disk}"' in dest.get_domain_xml(uid)
    assert disk.read_bytes().endswith(MARK)  # used as it is, not made anew
    # over the destination's copy now: the source's cache may drop its own
    info = subprocess.run(["qemu-img", "info", "-U", "--output=json", str(disk)],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert json.loads(info)["backing-filename"] == str(own_copy)

    dest.destroy(uid, remove_files=False)  # a rolled back evacuation: the domain only
    assert uid not in dest.list_instance_uuids() and disk.read_bytes().endswith(MARK)


def test_a_failed_spawn_with_the_disk_in_place_keeps_the_disk(
    hosts: tuple[LibvirtDriver, LibvirtDriver, LibvirtDriver],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, dest, _ = hosts
    spec = spec_for(tmp_path)
    uid = spec.instance_uuid
    disk = spawned_and_written(source, spec, tmp_path)

    def refused(xml: str) -> Any:
        raise libvirt.libvirtError("internal error: no memory")

    monkeypatch.setattr(dest.connection, "defineXML", refused)
    with pytest.raises(errors.HypervisorError, match="spawn of instance"):
        dest.spawn(dataclasses.replace(spec, disk_in_place=True))
    assert uid not in dest.list_instance_uuids()
    assert disk.read_bytes().endswith(MARK)  # the shared disk survives the clean-up


def test_a_host_that_does_not_see_the_disk_refuses_before_making_anything(
    hosts: tuple[LibvirtDriver, LibvirtDriver, LibvirtDriver], tmp_path: Path
) -> None:
    source, _, alone = hosts
    spec = spec_for(tmp_path)
    source.spawn(spec)
    uid = spec.instance_uuid
    with pytest.raises(errors.InvalidInput, match="is not on this host's instances path"):
        alone.spawn(dataclasses.replace(spec, disk_in_place=True))
    assert uid not in alone.list_instance_uuids()
    assert not (tmp_path / "own" / "instances" / uid).exists()
