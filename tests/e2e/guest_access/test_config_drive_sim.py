"""A boot with a config drive on a simulated host (no HTTP): the conductor builds the
files, the agent writes the ISO into the instance directory, the domain gets a
read-only CD-ROM, the simulated guest sees a config-2 volume with the server's
metadata, key and user data, and a delete removes it. A live migration between hosts
that share no storage takes the very same ISO along (libvirt copies no read-only
disk); with a shared instance path it stays where it is. A cold migration or resize
rebuilds it on the destination from the server's data (the destination's domain has
the CD-ROM), and a revert gives the source its own again."""

from __future__ import annotations

import base64
import json
import pathlib
from collections.abc import Iterator

import pytest
from lxml import etree

from support.harness import Cloud, make_cloud
from support.migrate_helpers import migrate
from support.vgpu_cloud import restart_agent
from virtfleet.db import flavors, servers
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database
from virtfleet.db.servers import GuestAccess
from virtfleet.servers import service
from virtfleet.virt.connection import open_connection
from virtfleet.virt.sim.domain import SimDomain

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA7LiGCTGo+LF1ojcjb9ap5Fimw+tftCBRNubCuYWAL8 t@vf"
USER_DATA = b"#cloud-config\nwrite_files: [{path: /marker, content: hi}]\n"


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Cloud]:
    built = make_cloud(tmp_path, db)
    yield built
    built.stop()


def _server_with_config_drive(cloud: Cloud) -> str:
    uuid = cloud.create_server()
    server = servers.get(cloud.db, uuid)
    servers.delete(cloud.db, uuid)  # replaced by one with guest access
    flavor = flavors.get(cloud.db, str(server.flavor["id"]))
    created = servers.create(
        cloud.db,
        name="web",
        flavor=flavor.snapshot(),
        image_ref=server.image_ref,
        image=dict(server.image),
        guest_request=server.guest_request.with_config_drive(True),
        project_id="project",
        user_id="user",
        metadata={"role": "web"},
        access=GuestAccess(
            key_name="k",
            key_data=KEY,
            user_data=base64.b64encode(USER_DATA).decode(),
            hostname="web-1",
        ),
    )
    return created.uuid


def test_config_drive_reaches_the_simulated_guest(cloud: Cloud) -> None:
    server = cloud.build(_server_with_config_drive(cloud))
    assert server.vm_state == "active", server.fault
    assert server.host is not None
    connection = open_connection(f"sim://{server.host}", cloud.fleet)
    domain = connection.lookupByUUIDString(server.uuid)
    assert isinstance(domain, SimDomain)
    xml = etree.fromstring(domain.XMLDesc().encode())
    cdrom = xml.find("devices/disk[@device='cdrom']")
    assert cdrom is not None and cdrom.find("readonly") is not None
    assert cdrom.find("target").get("bus") == "sata"  # x86_64 q35
    iso = pathlib.Path(cdrom.find("source").get("file"))
    assert iso.name == "disk.config" and iso.is_file()
    drive = domain.simConfigDrive()
    assert drive is not None
    label, files = drive
    assert label == "config-2"
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert meta["uuid"] == server.uuid and meta["hostname"] == "web-1"
    assert meta["public_keys"] == {"k": KEY} and meta["meta"] == {"role": "web"}
    assert files["openstack/latest/user_data"] == USER_DATA
    assert "ec2/latest/meta-data.json" in files
    cloud.conductor.delete_server(server.uuid)
    cloud.conductor.drain(30)
    assert not iso.exists()


def test_no_config_drive_no_cdrom(cloud: Cloud) -> None:
    server = cloud.boot()
    xml = etree.fromstring(cloud.conductor.get_domain_xml(server.uuid).encode())
    assert xml.find("devices/disk[@device='cdrom']") is None


def _guest_drive(cloud: Cloud, host: str, uuid: str) -> tuple[pathlib.Path, dict[str, bytes]]:
    """The ISO file of the guest's CD-ROM on ``host`` and the files its guest sees."""
    domain = open_connection(f"sim://{host}", cloud.fleet).lookupByUUIDString(uuid)
    assert isinstance(domain, SimDomain)
    source = etree.fromstring(domain.XMLDesc().encode()).find(
        "devices/disk[@device='cdrom']/source"
    )
    assert source is not None
    drive = domain.simConfigDrive()
    assert drive is not None and drive[0] == "config-2"
    return pathlib.Path(str(source.get("file"))), drive[1]


def _other_host(cloud: Cloud, host: str) -> str:
    (other,) = set(cloud.drivers) - {host}
    return other


def test_live_migration_without_shared_storage_carries_the_config_drive(cloud: Cloud) -> None:
    server = cloud.build(_server_with_config_drive(cloud))
    assert server.host is not None
    source_iso, before = _guest_drive(cloud, server.host, server.uuid)
    iso_bytes = source_iso.read_bytes()
    dest = _other_host(cloud, server.host)
    done = migrate(cloud, server.uuid, dest)
    assert (done.status, done.error) == ("completed", None)
    dest_iso, after = _guest_drive(cloud, dest, server.uuid)
    assert dest_iso != source_iso and str(dest_iso).startswith(
        str(cloud.tmp_path / "agents" / dest)
    )
    assert dest_iso.read_bytes() == iso_bytes  # the very ISO, not a rebuilt one
    assert after == before
    assert not source_iso.exists()  # the source's directory went with the move
    cloud.conductor.delete_server(server.uuid)
    cloud.conductor.drain(30)
    assert not dest_iso.exists()


def test_live_migration_with_a_shared_instance_path_leaves_the_config_drive(
    cloud: Cloud, tmp_path: pathlib.Path
) -> None:
    shared = tmp_path / "shared-instances"
    for name in list(cloud.agents):
        restart_agent(cloud, name, types=(), libvirt__instances_path=str(shared))
    server = cloud.build(_server_with_config_drive(cloud))
    assert server.host is not None
    iso, before = _guest_drive(cloud, server.host, server.uuid)
    written = iso.stat().st_mtime_ns
    dest = _other_host(cloud, server.host)
    done = migrate(cloud, server.uuid, dest)
    assert (done.status, done.error) == ("completed", None)
    dest_iso, after = _guest_drive(cloud, dest, server.uuid)
    assert dest_iso == iso and after == before
    assert iso.stat().st_mtime_ns == written  # not written again


def _share_instances(cloud: Cloud, tmp_path: pathlib.Path) -> None:
    """Both hosts' agents on one instances path (a cold move copies the disk through
    it)."""
    shared = tmp_path / "shared-instances"
    for name in list(cloud.agents):
        restart_agent(cloud, name, types=(), libvirt__instances_path=str(shared))


def _domains_with(cloud: Cloud, uuid: str) -> list[str]:
    return sorted(host for host in cloud.drivers if uuid in cloud.domains(host))


def _without_seed(files: dict[str, bytes]) -> dict[str, object]:
    """The drive's files with each ``meta_data.json`` parsed and its ``random_seed``
    (new at every build, as Nova's) left out."""
    kept: dict[str, object] = {}
    for path, content in files.items():
        if path.endswith("/meta_data.json"):
            meta = json.loads(content)
            meta.pop("random_seed", None)
            kept[path] = meta
        else:
            kept[path] = content
    return kept


def _cold_move(cloud: Cloud, uuid: str, host: str | None, flavor: dict[str, object] | None) -> None:
    """Migrate (no flavor) or resize ``uuid`` through the conductor's workflow and wait
    until it waits for confirm or revert."""
    service.request(cloud.db, uuid, "resize" if flavor else "migrate")
    migration = cloud.conductor.cold_moves.start(uuid, host, flavor)
    cloud.conductor.drain(60)
    done = records.get(cloud.db, migration.id)
    assert (done.status, done.error) == (records.FINISHED, None)
    assert servers.get(cloud.db, uuid).vm_state == "resized"


def test_cold_migration_rebuilds_the_config_drive_and_revert_restores_it(
    cloud: Cloud, tmp_path: pathlib.Path
) -> None:
    _share_instances(cloud, tmp_path)
    server = cloud.build(_server_with_config_drive(cloud))
    assert server.host is not None
    source = server.host
    _, before = _guest_drive(cloud, source, server.uuid)
    dest = _other_host(cloud, source)
    _cold_move(cloud, server.uuid, dest, None)
    assert _domains_with(cloud, server.uuid) == [dest]
    dest_iso, after = _guest_drive(cloud, dest, server.uuid)
    assert dest_iso.name == "disk.config" and dest_iso.parent.name == server.uuid
    # the same files, written again from the server's data
    assert _without_seed(after) == _without_seed(before)
    kept = tmp_path / "shared-instances" / f"{server.uuid}_resize" / "disk.config"
    assert kept.is_file()  # the source's own, kept for a revert
    service.request(cloud.db, server.uuid, "revert_resize")
    cloud.conductor.cold_moves.revert(server.uuid)
    cloud.conductor.drain(60)
    reverted = servers.get(cloud.db, server.uuid)
    assert (reverted.host, reverted.vm_state) == (source, "active"), reverted.fault
    assert _domains_with(cloud, server.uuid) == [source]
    source_iso, back = _guest_drive(cloud, source, server.uuid)
    assert _without_seed(back) == _without_seed(before) and not kept.parent.exists()
    cloud.conductor.delete_server(server.uuid)
    cloud.conductor.drain(30)
    assert not source_iso.exists()


def test_resize_gives_the_destination_a_config_drive_that_confirm_keeps(
    cloud: Cloud, tmp_path: pathlib.Path
) -> None:
    _share_instances(cloud, tmp_path)
    server = cloud.build(_server_with_config_drive(cloud))
    assert server.host is not None
    _, before = _guest_drive(cloud, server.host, server.uuid)
    bigger = flavors.create(cloud.db, name="bigger", vcpus=2, memory_mb=1024, root_gb=2)
    _cold_move(cloud, server.uuid, None, dict(bigger.snapshot()))
    moved = servers.get(cloud.db, server.uuid)
    assert moved.host is not None and moved.host != server.host
    iso, after = _guest_drive(cloud, moved.host, server.uuid)
    ec2 = json.loads(after["ec2/latest/meta-data.json"])
    assert ec2["instance-type"] == "bigger"  # built for the new flavor
    openstack = {p: c for p, c in _without_seed(after).items() if p.startswith("openstack/")}
    assert openstack == {
        p: c for p, c in _without_seed(before).items() if p.startswith("openstack/")
    }
    xml = etree.fromstring(cloud.conductor.get_domain_xml(server.uuid).encode())
    assert xml.findtext("vcpu") == "2"  # the new flavor's guest, with the CD-ROM
    assert xml.find("devices/disk[@device='cdrom']/readonly") is not None
    service.request(cloud.db, server.uuid, "confirm_resize")
    cloud.conductor.cold_moves.confirm(server.uuid)
    cloud.conductor.drain(60)
    confirmed = servers.get(cloud.db, server.uuid)
    assert (confirmed.host, confirmed.vm_state) == (moved.host, "active"), confirmed.fault
    assert not (tmp_path / "shared-instances" / f"{server.uuid}_resize").exists()
    assert _guest_drive(cloud, moved.host, server.uuid) == (iso, after)
