"""LibvirtLiveMigrateData: pinned fields, round trips through RPC at every version,
explicit downgrade (mdev fields dropped when empty, refused when carried)."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import exception as ovo_exc

from virtfleet.objects.base import Serializer, VirtfleetObjectRegistry
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.rpc.transport import LocalTransport

# Bump VERSION (history line + obj_make_compatible) and then this hash together.
EXPECTED_FINGERPRINT = "1.4-7877a45e50a526df2580445488440578"
VERSIONS = ("1.0", "1.1", "1.2", "1.3")
DISK = {
    "path": "/srv/instances/disk",
    "format": "qcow2",
    "virtual_size": "1073741824",
    "backing": None,
    "backing_format": None,
}
UUID = "6f1c9a4e-8f0b-4d0e-9a7d-0c8d2b7c1a11"
MIGRATION = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"


def _fingerprint() -> str:
    try:
        import fixtures  # noqa: F401
    except ImportError:  # the checker's module imports it for fixtures not used here
        stand_in = types.ModuleType("fixtures")
        stand_in.Fixture = object  # type: ignore[attr-defined]
        stand_in.MonkeyPatch = object  # type: ignore[attr-defined]
        sys.modules["fixtures"] = stand_in
    from oslo_versionedobjects import fixture

    checker = fixture.ObjectVersionChecker(VirtfleetObjectRegistry.obj_classes())
    return str(checker.get_hashes()["LibvirtLiveMigrateData"])


def make(**extra: Any) -> LibvirtLiveMigrateData:
    return LibvirtLiveMigrateData(
        migration_uuid=MIGRATION,
        instance_uuid=UUID,
        source_host="a",
        dest_host="b",
        dest_uri="qemu+unix:///system?socket=/run/b/sock",
        data_uri="unix:///srv/vf-migrate.sock",
        instance_dir="/srv/instances/" + UUID,
        src_libvirt_version="9.0.0",
        dst_qemu_version="8.2.0",
        **extra,
    )


def wire(primitive: Any) -> Any:
    return json.loads(json.dumps(primitive))


def test_fingerprint_pins_the_fields() -> None:
    assert _fingerprint() == EXPECTED_FINGERPRINT


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_at_every_version(version: str) -> None:
    data = make()
    primitive = wire(data.obj_to_primitive(target_version=version))
    assert primitive["virtfleet_object.version"] == version
    back = LibvirtLiveMigrateData.obj_from_primitive(primitive)
    assert version == back.VERSION  # as sent
    for name in ("migration_uuid", "instance_uuid", "dest_uri", "data_uri", "instance_dir"):
        assert getattr(back, name) == getattr(data, name)
    if version == "1.0":
        sent = primitive["virtfleet_object.data"]
        assert not {"source_mdev_types", "target_mdevs", "dst_supports_mdev_live_migration"} & set(
            sent
        )
        assert back.source_mdev_types == {} and not back.has_mdevs  # receiver's defaults
    else:
        assert back.dst_supports_mdev_live_migration is False
    if version in ("1.0", "1.1"):
        assert not {"dest_instance_dir", "local_disks", "full_disk_copy"} & set(
            primitive["virtfleet_object.data"]
        )
        assert back.local_disks == [] and back.dest_instance_dir is None  # receiver's defaults


def test_block_migration_fields_travel_at_1_2_and_are_dropped_below() -> None:
    data = make(dest_instance_dir="/b/instances/" + UUID, local_disks=[DISK], full_disk_copy=True)
    back = LibvirtLiveMigrateData.obj_from_primitive(wire(data.obj_to_primitive("1.2")))
    assert back.dest_instance_dir == "/b/instances/" + UUID
    assert back.local_disks == [DISK] and back.full_disk_copy is True
    older = LibvirtLiveMigrateData.obj_from_primitive(wire(data.obj_to_primitive("1.1")))
    assert older.dest_instance_dir is None and older.local_disks == []
    assert older.instance_dir == data.instance_dir  # what a 1.1 peer works with


def test_a_changed_field_changes_the_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pin above catches field changes: one more field gives another hash."""
    from oslo_versionedobjects import fields

    changed = dict(LibvirtLiveMigrateData.fields)
    changed["extra"] = fields.StringField(nullable=True)
    monkeypatch.setattr(LibvirtLiveMigrateData, "fields", changed)
    assert _fingerprint() != EXPECTED_FINGERPRINT


def test_mdevs_travel_at_1_1() -> None:
    data = make(
        source_mdev_types={"m-1": "nvidia-35"},
        target_mdevs={"m-1": "d-1"},
        dst_supports_mdev_live_migration=True,
    )
    back = LibvirtLiveMigrateData.obj_from_primitive(wire(data.obj_to_primitive("1.1")))
    assert back.source_mdev_types == {"m-1": "nvidia-35"}
    assert back.target_mdevs == {"m-1": "d-1"}
    assert back.dst_supports_mdev_live_migration is True and back.has_mdevs


@pytest.mark.parametrize(
    "mdevs", [{"source_mdev_types": {"m-1": "nvidia-35"}}, {"target_mdevs": {"m-1": "d-1"}}]
)
def test_downgrade_with_mdevs_is_refused(mdevs: dict[str, dict[str, str]]) -> None:
    with pytest.raises(ovo_exc.ObjectActionError) as caught:
        make(**mdevs).obj_to_primitive(target_version="1.0")
    assert "too old to migrate a guest with mdevs" in str(caught.value)


def test_unknown_newer_version_is_refused() -> None:
    primitive = wire(make().obj_to_primitive())
    primitive["virtfleet_object.version"] = "1.9"
    with pytest.raises(ovo_exc.IncompatibleObjectVersion):
        LibvirtLiveMigrateData.obj_from_primitive(primitive)


def test_serializer_and_local_transport_carry_it() -> None:
    serializer = Serializer()
    data = make(source_mdev_types={"m-1": "nvidia-35"})
    back = serializer.deserialize_entity(None, wire(serializer.serialize_entity(None, data)))
    assert back == data
    transport = LocalTransport()

    class Echo:
        def echo(self, data: LibvirtLiveMigrateData) -> LibvirtLiveMigrateData:
            assert isinstance(data, LibvirtLiveMigrateData)
            data.dst_supports_mdev_live_migration = True
            return data

    transport.serve("compute", "b", Echo())
    try:
        replied = transport.call("compute", "b", "echo", data=data)
    finally:
        transport.close()
    assert isinstance(replied, LibvirtLiveMigrateData)
    assert replied.source_mdev_types == {"m-1": "nvidia-35"}
    assert replied.dst_supports_mdev_live_migration is True


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_through_rpc_with_a_peer_pinned_to_each_version(version: str) -> None:
    """A peer at ``version``: what is sent is downgraded to it, travels over the RPC
    transport, comes back filled in at that version and is read again."""
    transport = LocalTransport()
    seen: list[str] = []

    class PinnedPeer:
        def check(self, data: LibvirtLiveMigrateData) -> dict[str, Any]:
            seen.append(data.VERSION)  # the serializer read it at the version sent
            data.dest_uri = "qemu+tcp://b/system"
            return dict(data.obj_to_primitive(target_version=version))

    transport.serve("compute", "b", PinnedPeer())
    try:
        sent = make().obj_to_primitive(target_version=version)
        replied = transport.call("compute", "b", "check", data=sent)
    finally:
        transport.close()
    assert isinstance(replied, LibvirtLiveMigrateData)
    assert seen == [version] and version == replied.VERSION
    assert replied.dest_uri == "qemu+tcp://b/system"
    assert (replied.migration_uuid, replied.instance_dir) == (MIGRATION, "/srv/instances/" + UUID)


def test_is_registered_in_virtfleets_namespace() -> None:
    assert issubclass(LibvirtLiveMigrateData, ovo_base.VersionedObject)
    assert "LibvirtLiveMigrateData" in VirtfleetObjectRegistry.obj_classes()


def test_vifs_travel_to_the_destination_and_a_1_2_peer_cannot_take_them() -> None:
    from oslo_versionedobjects import exception as ovo_exc

    from virtfleet.objects.vif import GuestVif

    data = LibvirtLiveMigrateData(
        migration_uuid="0f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44",
        instance_uuid="1f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44",
        source_host="a",
        dest_host="b",
    )
    assert "vifs" not in data.obj_to_primitive("1.2")["virtfleet_object.data"]
    data.vifs = [
        GuestVif(port_id="p", network_id="n", mac_address="fa:16:3e:00:00:02", network_type="vxlan")
    ]
    back = LibvirtLiveMigrateData.obj_from_primitive(wire(data.obj_to_primitive()))
    assert back.vifs[0].mac_address == "fa:16:3e:00:00:02"
    with pytest.raises(ovo_exc.ObjectActionError, match="cannot carry ports"):
        data.obj_to_primitive("1.2")


def test_the_config_drive_travels_at_1_4_and_a_1_3_peer_cannot_take_it() -> None:
    data = make()
    assert "config_drive" not in data.obj_to_primitive("1.3")["virtfleet_object.data"]
    data.config_drive = "Q0QwMDE="
    back = LibvirtLiveMigrateData.obj_from_primitive(wire(data.obj_to_primitive()))
    assert back.config_drive == "Q0QwMDE="
    with pytest.raises(ovo_exc.ObjectActionError, match="cannot carry a config drive"):
        data.obj_to_primitive("1.3")
