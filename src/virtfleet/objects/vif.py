"""A guest's bound port as an agent needs it to plug and describe the interface and to
realise its network on the host: DHCP, security-group filtering, VXLAN peers and the
metadata path (RPC ``compute.spawn`` inside ``InstanceSpec.vifs``, and
``compute.refresh_ports``)."""

from __future__ import annotations

from typing import Any

from oslo_versionedobjects import fields

from virtfleet.objects.base import register
from virtfleet.objects.defaults import DefaultedObject


@register
class GuestSubnet(DefaultedObject):
    """A subnet of the port's network, as its DHCP server serves it
    (``host_routes`` as ``DESTINATION,NEXTHOP``; ``dhcp_address`` the address of this
    host's DHCP port on it, None when DHCP is off or not set up; the IPv6 modes as the
    subnet has them)."""

    # Version 1.0: initial version
    # Version 1.1: ipv6_address_mode, ipv6_ra_mode
    VERSION = "1.1"

    fields = {
        "subnet_id": fields.StringField(),
        "cidr": fields.StringField(),
        "ip_version": fields.IntegerField(),
        "gateway_ip": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "dns_nameservers": fields.ListOfStringsField(default=[]),
        "host_routes": fields.ListOfStringsField(default=[]),
        "enable_dhcp": fields.BooleanField(default=True),
        "dhcp_address": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "ipv6_address_mode": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "ipv6_ra_mode": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
    }

    subnet_id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    dns_nameservers: list[str]
    host_routes: list[str]
    enable_dhcp: bool
    dhcp_address: str | None
    ipv6_address_mode: str | None
    ipv6_ra_mode: str | None

    def obj_make_compatible(self, primitive: dict[str, Any], target_version: str) -> None:
        super().obj_make_compatible(primitive, target_version)
        if tuple(int(part) for part in target_version.split(".")) < (1, 1):
            primitive.pop("ipv6_address_mode", None)
            primitive.pop("ipv6_ra_mode", None)


@register
class GuestRule(DefaultedObject):
    """One security-group rule of a port, its remote resolved: ``remote_prefixes`` the
    addresses it matches (a remote group's members as /32 or /128), ``remote_any`` True
    when it names no remote at all."""

    # Version 1.0: initial version
    VERSION = "1.0"

    fields = {
        "direction": fields.StringField(),  # ingress | egress
        "ethertype": fields.StringField(),  # IPv4 | IPv6
        "protocol": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "port_range_min": fields.IntegerField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "port_range_max": fields.IntegerField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "remote_any": fields.BooleanField(default=True),
        "remote_prefixes": fields.ListOfStringsField(default=[]),
    }

    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_any: bool
    remote_prefixes: list[str]


@register
class GuestVif(DefaultedObject):
    """One port of a guest: its MAC and addresses, and its network's segment
    (``network_type`` flat, vlan or vxlan; ``physical_network`` for flat and vlan;
    ``segmentation_id`` the VLAN id or VNI). ``security_group_ids`` empty and
    ``port_security`` False mean no filtering; ``rules`` are the port's groups' rules,
    ``vxlan_peers`` the tunnel addresses of the other hosts with ports on the network,
    ``instance_uuid`` the server the port is bound for ('' when not known)."""

    # Version 1.0: initial version
    # Version 1.1: project_id, subnets, rules, vxlan_peers (the host's data plane)
    # Version 1.2: instance_uuid (the port's server: a restarted agent adopts it)
    VERSION = "1.2"

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
        "project_id": fields.StringField(default=""),
        "subnets": fields.ListOfObjectsField("GuestSubnet", default=[]),
        "rules": fields.ListOfObjectsField("GuestRule", default=[]),
        "vxlan_peers": fields.ListOfStringsField(default=[]),
        "instance_uuid": fields.StringField(default=""),
    }

    obj_relationships = {"subnets": [("1.1", "1.0")], "rules": [("1.1", "1.0")]}

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
    project_id: str
    subnets: list[GuestSubnet]
    rules: list[GuestRule]
    vxlan_peers: list[str]
    instance_uuid: str

    def obj_make_compatible(self, primitive: dict[str, Any], target_version: str) -> None:
        super().obj_make_compatible(primitive, target_version)
        target = tuple(int(part) for part in target_version.split("."))
        if target < (1, 1):  # a 1.0 agent plugs bridges only
            for name in ("project_id", "subnets", "rules", "vxlan_peers"):
                primitive.pop(name, None)
        if target < (1, 2):
            primitive.pop("instance_uuid", None)
