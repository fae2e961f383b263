"""A guest's bound port as an agent needs it to plug and describe the interface
(RPC ``compute.spawn`` inside ``InstanceSpec.vifs``)."""

from __future__ import annotations

from oslo_versionedobjects import fields

from virtfleet.objects.base import register
from virtfleet.objects.defaults import DefaultedObject


@register
class GuestVif(DefaultedObject):
    """One port of a guest: its MAC and addresses, and its network's segment
    (``network_type`` flat, vlan or vxlan; ``physical_network`` for flat and vlan;
    ``segmentation_id`` the VLAN id or VNI). ``security_group_ids`` empty and
    ``port_security`` False mean no filtering."""

    # Version 1.0: initial version
    VERSION = "1.0"

    fields = {
        "port_id": fields.StringField(),
        "network_id": fields.StringField(),
        "mac_address": fields.StringField(),
        "mtu": fields.IntegerField(default=1500),
        "network_type": fields.StringField(),
        "physical_network": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "segmentation_id": fields.IntegerField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "fixed_ips": fields.ListOfStringsField(default=[]),
        "gateways": fields.ListOfStringsField(default=[]),
        "port_security": fields.BooleanField(default=True),
        "security_group_ids": fields.ListOfStringsField(default=[]),
    }

    port_id: str
    network_id: str
    mac_address: str
    mtu: int
    network_type: str
    physical_network: str | None
    segmentation_id: int | None
    fixed_ips: list[str]
    gateways: list[str]
    port_security: bool
    security_group_ids: list[str]
