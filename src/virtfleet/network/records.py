"""What the network service hands out: immutable records of its objects, and the
caller a request acts for."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """Whom a request acts for: administrators see and may do everything, members
    their own project's objects (and shared networks)."""

    project_id: str
    is_admin: bool


@dataclass(frozen=True)
class NetworkRecord:
    id: str
    name: str
    description: str
    project_id: str
    admin_state_up: bool
    shared: bool
    external: bool
    mtu: int
    port_security_enabled: bool
    network_type: str
    physical_network: str | None
    segmentation_id: int | None
    subnet_ids: tuple[str, ...]
    created_at: datetime.datetime
    updated_at: datetime.datetime


@dataclass(frozen=True)
class SubnetRecord:
    id: str
    network_id: str
    name: str
    description: str
    project_id: str
    ip_version: int
    cidr: str
    gateway_ip: str | None
    allocation_pools: tuple[tuple[str, str], ...]
    dns_nameservers: tuple[str, ...]
    enable_dhcp: bool
    ipv6_address_mode: str | None
    ipv6_ra_mode: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


@dataclass(frozen=True)
class FixedIP:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True)
class PortRecord:
    id: str
    network_id: str
    name: str
    description: str
    project_id: str
    mac_address: str
    admin_state_up: bool
    status: str
    device_owner: str
    device_id: str
    binding_host_id: str
    port_security_enabled: bool
    fixed_ips: tuple[FixedIP, ...]
    security_group_ids: tuple[str, ...]
    created_at: datetime.datetime
    updated_at: datetime.datetime


@dataclass(frozen=True)
class RuleRecord:
    id: str
    security_group_id: str
    project_id: str
    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None
    description: str
    created_at: datetime.datetime


@dataclass(frozen=True)
class SecurityGroupRecord:
    id: str
    name: str
    description: str
    project_id: str
    stateful: bool
    rules: tuple[RuleRecord, ...]
    created_at: datetime.datetime
    updated_at: datetime.datetime
