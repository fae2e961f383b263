"""What the conductor asks an agent to build (RPC ``compute.spawn``).

An :class:`InstanceSpec` is resolved on the control plane: the flavor and image
snapshots of the server, which image data the guest needs (its disk image, and
kernel/ramdisk for direct kernel boot: :class:`~virtfleet.objects.image_data.ImageData`,
fetched by the agent from the Image API and verified against the digests recorded at
upload), and the placement allocation the
scheduler claimed (so nested resources such as slices can be mapped to devices), and
the server's :class:`~virtfleet.objects.guest_request.GuestRequest` as the Compute API
resolved it. The agent turns it into the driver's ``GuestSpec``, adding its own
instance paths.
"""

from __future__ import annotations

from typing import Any

from oslo_versionedobjects import fields

from virtfleet.objects.base import register
from virtfleet.objects.defaults import DefaultedObject
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.image_data import ImageData
from virtfleet.objects.vif import GuestVif


@register
class InstanceSpec(DefaultedObject):
    """A guest to spawn on one host."""

    # Version 1.0: initial version
    # Version 1.1: guest_request (the guest facts resolved by the Compute API)
    # Version 1.2: vifs (the guest's bound ports)
    # Version 1.3: image_data, kernel_data, ramdisk_data (fetched over HTTP by the
    #              agent; the *_path fields, server-local paths, are no longer set)
    # Version 1.4: config_drive (the config drive's files, base64, by path)
    VERSION = "1.4"

    fields = {
        "uuid": fields.UUIDField(),
        "name": fields.StringField(),
        "flavor_name": fields.StringField(default=""),
        "vcpus": fields.NonNegativeIntegerField(),
        "memory_mb": fields.NonNegativeIntegerField(),
        "root_gb": fields.NonNegativeIntegerField(default=0),
        "extra_specs": fields.DictOfStringsField(default={}),
        "image_id": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "image_properties": fields.DictOfStringsField(default={}),
        "image_path": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "image_format": fields.StringField(default="qcow2"),
        "kernel_path": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "ramdisk_path": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "kernel_cmdline": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "metadata": fields.DictOfStringsField(default={}),
        "allocations": fields.Field(
            fields.Dict(fields.Dict(fields.Integer())), nullable=True, default=None
        ),
        # 1.1
        "guest_request": fields.ObjectField("GuestRequest"),
        # 1.2
        "vifs": fields.ListOfObjectsField("GuestVif", default=[]),
        # 1.3
        "image_data": fields.ObjectField("ImageData", nullable=True, default=None),
        "kernel_data": fields.ObjectField("ImageData", nullable=True, default=None),
        "ramdisk_data": fields.ObjectField("ImageData", nullable=True, default=None),
        # 1.4
        "config_drive": fields.DictOfStringsField(default={}),
    }

    # InstanceSpec version -> the GuestRequest version it carries
    obj_relationships = {
        "guest_request": [("1.1", "1.0")],
        "vifs": [("1.2", "1.0")],
        "image_data": [("1.3", "1.0")],
        "kernel_data": [("1.3", "1.0")],
        "ramdisk_data": [("1.3", "1.0")],
    }

    uuid: str
    name: str
    flavor_name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    extra_specs: dict[str, str]
    image_id: str | None
    image_properties: dict[str, str]
    image_path: str | None
    image_format: str
    kernel_path: str | None
    ramdisk_path: str | None
    kernel_cmdline: str | None
    metadata: dict[str, str]
    allocations: dict[str, dict[str, int]] | None
    guest_request: GuestRequest
    vifs: list[GuestVif]
    image_data: ImageData | None
    kernel_data: ImageData | None
    ramdisk_data: ImageData | None
    config_drive: dict[str, str]

    def obj_make_compatible(self, primitive: dict[str, Any], target_version: str) -> None:
        super().obj_make_compatible(primitive, target_version)
        target = tuple(int(part) for part in target_version.split("."))
        if target < (1, 1):  # a 1.0 agent still reads the guest facts from the raw maps
            primitive.pop("guest_request", None)
        if target < (1, 2):  # a 1.1 agent cannot plug ports: the guest boots without
            primitive.pop("vifs", None)
        if target < (1, 3):  # a 1.2 agent reads server paths: it cannot fetch image data
            for name in ("image_data", "kernel_data", "ramdisk_data"):
                primitive.pop(name, None)
        if target < (1, 4):  # a 1.3 agent writes no config drive
            primitive.pop("config_drive", None)
