"""Networking API views: records as Neutron shows them (provider attributes only to
administrators)."""

from __future__ import annotations

import datetime
from typing import Any

from virtfleet.network.records import (
    Caller,
    NetworkRecord,
    PortRecord,
    RuleRecord,
    SecurityGroupRecord,
    SubnetRecord,
)


def _time(value: datetime.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _common(
    project_id: str, created: datetime.datetime, updated: datetime.datetime
) -> dict[str, Any]:
    return {
        "tenant_id": project_id,
        "project_id": project_id,
        "created_at": _time(created),
        "updated_at": _time(updated),
        "revision_number": 0,
        "tags": [],
    }


def network_view(caller: Caller, net: NetworkRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": net.id,
        "name": net.name,
        "description": net.description,
        "admin_state_up": net.admin_state_up,
        "status": "ACTIVE",
        "subnets": list(net.subnet_ids),
        "shared": net.shared,
        "router:external": net.external,
        "mtu": net.mtu,
        "port_security_enabled": net.port_security_enabled,
        "availability_zones": [],
        "availability_zone_hints": [],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "is_default": False,
        "l2_adjacency": True,
        **_common(net.project_id, net.created_at, net.updated_at),
    }
    if caller.is_admin:
        view["provider:network_type"] = net.network_type
        view["provider:physical_network"] = net.physical_network
        view["provider:segmentation_id"] = net.segmentation_id
    return view


def subnet_view(subnet: SubnetRecord) -> dict[str, Any]:
    return {
        "id": subnet.id,
        "network_id": subnet.network_id,
        "name": subnet.name,
        "description": subnet.description,
        "ip_version": subnet.ip_version,
        "cidr": subnet.cidr,
        "gateway_ip": subnet.gateway_ip,
        "allocation_pools": [{"start": s, "end": e} for s, e in subnet.allocation_pools],
        "dns_nameservers": list(subnet.dns_nameservers),
        "host_routes": [],
        "enable_dhcp": subnet.enable_dhcp,
        "ipv6_address_mode": subnet.ipv6_address_mode,
        "ipv6_ra_mode": subnet.ipv6_ra_mode,
        "subnetpool_id": None,
        "service_types": [],
        "segment_id": None,
        **_common(subnet.project_id, subnet.created_at, subnet.updated_at),
    }


def port_view(port: PortRecord) -> dict[str, Any]:
    return {
        "id": port.id,
        "network_id": port.network_id,
        "name": port.name,
        "description": port.description,
        "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up,
        "status": port.status,
        "device_owner": port.device_owner,
        "device_id": port.device_id,
        "fixed_ips": [
            {"subnet_id": f.subnet_id, "ip_address": f.ip_address} for f in port.fixed_ips
        ],
        "security_groups": list(port.security_group_ids),
        "port_security_enabled": port.port_security_enabled,
        "allowed_address_pairs": [],
        "extra_dhcp_opts": [],
        "binding:host_id": port.binding_host_id,
        "binding:vif_type": "bridge" if port.binding_host_id else "unbound",
        "binding:vnic_type": "normal",
        "binding:profile": {},
        "binding:vif_details": {},
        **_common(port.project_id, port.created_at, port.updated_at),
    }


def rule_view(rule: RuleRecord) -> dict[str, Any]:
    return {
        "id": rule.id,
        "security_group_id": rule.security_group_id,
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "protocol": rule.protocol,
        "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix,
        "remote_group_id": rule.remote_group_id,
        "remote_address_group_id": None,
        "normalized_cidr": rule.remote_ip_prefix,
        "description": rule.description,
        **_common(rule.project_id, rule.created_at, rule.created_at),
    }


def group_view(group: SecurityGroupRecord) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "stateful": group.stateful,
        "shared": False,
        "security_group_rules": [rule_view(r) for r in group.rules],
        **_common(group.project_id, group.created_at, group.updated_at),
    }
