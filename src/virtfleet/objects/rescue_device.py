"""The device a stable device rescue attaches the rescue image as (Nova 2.87's
``hw_rescue_device`` / ``hw_rescue_bus``), decided once by the Compute API and
carried to the host's driver (agent RPC 1.14)."""

from __future__ import annotations

from oslo_versionedobjects import fields

from virtfleet.objects.base import register
from virtfleet.objects.defaults import DefaultedObject
from virtfleet.objects.image_properties import RESCUE_BUSES, RESCUE_DEVICES


@register
class RescueDevice(DefaultedObject):
    """``device`` (disk, cdrom or floppy) on ``bus``: the rescue image attached
    beside the guest's own disks and booted first."""

    # Version 1.0: initial version
    VERSION = "1.0"

    fields = {
        "device": fields.EnumField(RESCUE_DEVICES),
        "bus": fields.EnumField(RESCUE_BUSES),
    }

    device: str
    bus: str


__all__ = ["RescueDevice"]
