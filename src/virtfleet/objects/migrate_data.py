"""What source, destination and conductor tell each other during a live migration
(RPC ``check_can_live_migrate_*``, ``pre_live_migration``, ``live_migrate``, ...).

The destination fills in how to reach it and what it offers, the source what the guest
holds; the conductor passes the object along. Agents of different releases may meet,
so the object downgrades explicitly: a 1.0 peer knows nothing of mediated devices, and
a migration that carries mdevs is refused rather than silently stripped of them.
"""

from __future__ import annotations

from typing import Any

from oslo_versionedobjects import exception as ovo_exc
from oslo_versionedobjects import fields

from virtfleet.objects.base import register
from virtfleet.objects.defaults import DefaultedObject
from virtfleet.objects.vif import GuestVif

MDEV_FIELDS = ("source_mdev_types", "target_mdevs", "dst_supports_mdev_live_migration")
BLOCK_FIELDS = ("dest_instance_dir", "local_disks", "full_disk_copy")


@register
class LibvirtLiveMigrateData(DefaultedObject):
    """One live migration's data, passed between the two agents by the conductor."""

    # Version 1.0: initial version (generic live migration)
    # Version 1.1: source_mdev_types, target_mdevs, dst_supports_mdev_live_migration
    # Version 1.2: dest_instance_dir, local_disks, full_disk_copy (block migration)
    # Version 1.3: vifs (the guest's ports, plugged on the destination before it arrives)
    # Version 1.4: config_drive (the guest's config drive ISO, copied when nothing is shared)
    VERSION = "1.4"

    fields = {
        "migration_uuid": fields.UUIDField(),
        "instance_uuid": fields.UUIDField(),
        "source_host": fields.StringField(),
        "dest_host": fields.StringField(),
        # libvirt URI the source daemon connects to (peer to peer)
        "dest_uri": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        # where QEMU streams the guest (VIR_MIGRATE_PARAM_URI); None: libvirt picks
        "data_uri": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "block_migration": fields.BooleanField(default=False),
        "is_shared_instance_path": fields.BooleanField(default=False),
        "instance_dir": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "bandwidth_mib": fields.NonNegativeIntegerField(default=0),
        "src_libvirt_version": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "src_qemu_version": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "dst_libvirt_version": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "dst_qemu_version": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        # 1.1: mediated devices. source mdev uuid -> its type (filled by the source)
        "source_mdev_types": fields.DictOfStringsField(default={}),
        # source mdev uuid -> destination mdev uuid (filled by the destination's claim)
        "target_mdevs": fields.DictOfStringsField(default={}),
        "dst_supports_mdev_live_migration": fields.BooleanField(default=False),
        # 1.2: block migration without shared storage. The guest's directory on the
        # destination (filled there; the source relocates the XML's paths into it)
        "dest_instance_dir": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        # the guest's file disks in its directory, filled by the source: path, format,
        # virtual_size (bytes, as text), backing, backing_format
        "local_disks": fields.ListOfDictOfNullableStringsField(default=[]),
        # the destination lacks a disk's backing file: copy whole disks (NON_SHARED_DISK)
        "full_disk_copy": fields.BooleanField(default=False),
        # 1.3: the guest's ports (filled by the conductor before pre_live_migration)
        "vifs": fields.ListOfObjectsField("GuestVif", default=[]),
        # 1.4: the config drive ISO, base64 (filled by the source when the hosts share
        # no storage: libvirt copies no read-only disk, so the destination writes it)
        "config_drive": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
    }

    # LibvirtLiveMigrateData version -> the GuestVif version its vifs carry
    obj_relationships = {"vifs": [("1.3", "1.0")]}

    migration_uuid: str
    instance_uuid: str
    source_host: str
    dest_host: str
    dest_uri: str | None
    data_uri: str | None
    block_migration: bool
    is_shared_instance_path: bool
    instance_dir: str | None
    bandwidth_mib: int
    src_libvirt_version: str | None
    src_qemu_version: str | None
    dst_libvirt_version: str | None
    dst_qemu_version: str | None
    source_mdev_types: dict[str, str]
    target_mdevs: dict[str, str]
    dst_supports_mdev_live_migration: bool
    dest_instance_dir: str | None
    local_disks: list[dict[str, str | None]]
    full_disk_copy: bool
    vifs: list[GuestVif]
    config_drive: str | None

    @property
    def has_mdevs(self) -> bool:
        """Whether the guest holds mediated devices (as far as this object knows)."""
        return bool(self.obj_attr_is_set("source_mdev_types") and self.source_mdev_types)

    def obj_make_compatible(self, primitive: dict[str, Any], target_version: str) -> None:
        target = tuple(int(part) for part in target_version.split("."))
        if target < (1, 4) and self.obj_attr_is_set("config_drive") and self.config_drive:
            raise ovo_exc.ObjectActionError(
                action="obj_make_compatible",
                reason=f"LibvirtLiveMigrateData {target_version} cannot carry a config "
                "drive: the peer is too old to write it on the destination",
            )
        if target < (1, 3) and self.obj_attr_is_set("vifs") and self.vifs:
            raise ovo_exc.ObjectActionError(
                action="obj_make_compatible",
                reason=f"LibvirtLiveMigrateData {target_version} cannot carry ports: "
                "the peer is too old to plug a guest's network on the destination",
            )
        super().obj_make_compatible(primitive, target_version)
        if target < (1, 4):
            primitive.pop("config_drive", None)
        if target < (1, 3):
            primitive.pop("vifs", None)
        if target < (1, 2):  # a 1.1 peer keeps the guest's path and copies increments
            for name in BLOCK_FIELDS:
                primitive.pop(name, None)
        if target < (1, 1):
            carried = primitive.get("source_mdev_types") or primitive.get("target_mdevs")
            if carried:
                raise ovo_exc.ObjectActionError(
                    action="obj_make_compatible",
                    reason=f"LibvirtLiveMigrateData {target_version} cannot carry mediated "
                    "devices: the peer is too old to migrate a guest with mdevs",
                )
            for name in MDEV_FIELDS:
                primitive.pop(name, None)
