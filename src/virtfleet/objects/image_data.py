"""The image data a guest's disk (or kernel/ramdisk) is made from, as an agent needs it
to fetch the bits from the Image API and verify them (RPC ``compute.spawn`` inside
``InstanceSpec``): which image, its size and the digests the Image API recorded when
the data was uploaded."""

from __future__ import annotations

from oslo_versionedobjects import fields

from virtfleet.objects.base import register
from virtfleet.objects.defaults import DefaultedObject


@register
class ImageData(DefaultedObject):
    """One image's data: ``image_id``, ``size`` in bytes, ``checksum`` (MD5, hex) and
    ``os_hash_algo``/``os_hash_value`` (Glance's multihash, e.g. sha512) as uploaded;
    ``disk_format`` as the driver writes it under an overlay (qcow2 or raw)."""

    # Version 1.0: initial version
    VERSION = "1.0"

    fields = {
        "image_id": fields.StringField(),
        "size": fields.NonNegativeIntegerField(),
        "checksum": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "os_hash_algo": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "os_hash_value": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "disk_format": fields.StringField(default="raw"),
    }

    image_id: str
    size: int
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    disk_format: str
