"""What a host needs to realise its guests' ports, computed from the database in one
session: each bound port as a :class:`GuestVif` with its subnets (and this host's
DHCP address on each), its security groups' rules with remote groups resolved to their
members' addresses, and the tunnel addresses of the other hosts carrying its network.

DHCP ports: a host with a compute port on a network with a DHCP-enabled subnet gets
one port of its own there (``device_owner`` ``network:dhcp``, ``device_id``
``dhcp-<host>``, bound to the host), whose addresses its dnsmasq listens on; it goes
when the host's last compute port of the network goes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from virtfleet.db.models import network as m
from virtfleet.network import ports
from virtfleet.network.records import Caller
from virtfleet.objects.vif import GuestRule, GuestSubnet, GuestVif

DHCP_OWNER = "network:dhcp"
COMPUTE_PREFIX = "compute:"
SYSTEM = Caller(project_id="", is_admin=True)


def dhcp_device(host: str) -> str:
    return f"dhcp-{host}"


def _compute_ports(session: Session, network_id: str, host: str) -> int:
    query = select(m.Port.id).where(
        m.Port.network_id == network_id,
        m.Port.binding_host_id == host,
        m.Port.device_owner.like(COMPUTE_PREFIX + "%"),
    )
    return len(session.scalars(query).all())


def _dhcp_port(session: Session, network_id: str, host: str) -> m.Port | None:
    query = select(m.Port).where(
        m.Port.network_id == network_id,
        m.Port.device_owner == DHCP_OWNER,
        m.Port.device_id == dhcp_device(host),
    )
    return session.scalars(query).first()


def ensure_dhcp_port(session: Session, network_id: str, host: str) -> m.Port | None:
    """The host's DHCP port on the network, made when a subnet has DHCP on."""
    found = _dhcp_port(session, network_id, host)
    if found is not None:
        return found
    subnets = session.scalars(
        select(m.Subnet).where(m.Subnet.network_id == network_id, m.Subnet.enable_dhcp)
    ).all()
    if not subnets:
        return None
    network = session.get(m.Network, network_id)
    assert network is not None
    body = {
        "network_id": network_id,
        "project_id": network.project_id,
        "device_owner": DHCP_OWNER,
        "device_id": dhcp_device(host),
        "binding:host_id": host,
        "port_security_enabled": False,
        "fixed_ips": [{"subnet_id": s.id} for s in subnets],
    }
    port = ports.create_port(session, SYSTEM, body)
    port.status = "ACTIVE"
    return port


def drop_unused_dhcp_ports(session: Session, places: Iterable[tuple[str, str]]) -> None:
    """Delete the DHCP port of each (network, host) without compute ports left."""
    for network_id, host in set(places):
        if not host or _compute_ports(session, network_id, host):
            continue
        found = _dhcp_port(session, network_id, host)
        if found is not None:
            ports.delete_port(session, SYSTEM, found.id)


def _tunnel_addresses(session: Session, network_id: str, tunnels: Mapping[str, str]) -> list[str]:
    query = select(m.Port.binding_host_id).where(
        m.Port.network_id == network_id,
        m.Port.device_owner.like(COMPUTE_PREFIX + "%"),
        m.Port.binding_host_id != "",
    )
    hosts = set(session.scalars(query).all())
    return sorted({tunnels[h] for h in hosts if tunnels.get(h)})


def _members(session: Session, group_id: str) -> list[str]:
    query = (
        select(m.IPAllocation.ip_address)
        .join(m.PortSecurityGroup, m.PortSecurityGroup.port_id == m.IPAllocation.port_id)
        .where(m.PortSecurityGroup.security_group_id == group_id)
    )
    found = []
    for address in sorted(set(session.scalars(query).all())):
        found.append(str(ipaddress.ip_network(address)))
    return found


def _rules(session: Session, group_ids: Iterable[str]) -> list[GuestRule]:
    found = []
    members: dict[str, list[str]] = {}
    for group_id in group_ids:
        rows = session.scalars(
            select(m.SecurityGroupRule)
            .where(m.SecurityGroupRule.security_group_id == group_id)
            .order_by(m.SecurityGroupRule.created_at, m.SecurityGroupRule.id)
        ).all()
        for row in rows:
            prefixes: list[str] = []
            if row.remote_group_id:
                if row.remote_group_id not in members:
                    members[row.remote_group_id] = _members(session, row.remote_group_id)
                prefixes = members[row.remote_group_id]
            elif row.remote_ip_prefix:
                prefixes = [row.remote_ip_prefix]
            found.append(
                GuestRule(
                    direction=row.direction,
                    ethertype=row.ethertype,
                    protocol=row.protocol,
                    port_range_min=row.port_range_min,
                    port_range_max=row.port_range_max,
                    remote_any=not row.remote_group_id and not row.remote_ip_prefix,
                    remote_prefixes=prefixes,
                )
            )
    return found


def _subnets(session: Session, network_id: str, host: str) -> list[GuestSubnet]:
    dhcp = _dhcp_port(session, network_id, host) if host else None
    dhcp_addresses = {}
    if dhcp is not None:
        dhcp_addresses = {
            f.subnet_id: f.ip_address for f in ports.port_record(session, dhcp).fixed_ips
        }
    rows = session.scalars(
        select(m.Subnet).where(m.Subnet.network_id == network_id).order_by(m.Subnet.created_at)
    ).all()
    return [
        GuestSubnet(
            subnet_id=s.id,
            cidr=s.cidr,
            ip_version=s.ip_version,
            gateway_ip=s.gateway_ip,
            dns_nameservers=list(s.dns_nameservers or []),
            host_routes=[f"{r['destination']},{r['nexthop']}" for r in s.host_routes or []],
            enable_dhcp=s.enable_dhcp,
            dhcp_address=dhcp_addresses.get(s.id),
            ipv6_address_mode=s.ipv6_address_mode,
            ipv6_ra_mode=s.ipv6_ra_mode,
        )
        for s in rows
    ]


def guest_vif(session: Session, row: m.Port, tunnels: Mapping[str, str]) -> GuestVif:
    """``row`` as its host needs it (``tunnels``: host name -> tunnel address)."""
    network = session.get(m.Network, row.network_id)
    assert network is not None
    record = ports.port_record(session, row)
    subnets = _subnets(session, network.id, row.binding_host_id)
    by_id = {s.subnet_id: s for s in subnets}
    gateways = sorted({by_id[f.subnet_id].gateway_ip or "" for f in record.fixed_ips} - {""})
    own = tunnels.get(row.binding_host_id)
    peers = (
        [] if network.network_type != "vxlan" else _tunnel_addresses(session, network.id, tunnels)
    )
    return GuestVif(
        port_id=row.id,
        network_id=network.id,
        mac_address=row.mac_address,
        mtu=network.mtu,
        network_type=network.network_type,
        physical_network=network.physical_network or None,
        segmentation_id=network.segmentation_id or None,
        fixed_ips=[f.ip_address for f in record.fixed_ips],
        gateways=gateways,
        port_security=row.port_security_enabled,
        security_group_ids=list(record.security_group_ids),
        project_id=row.project_id,
        subnets=subnets,
        rules=_rules(session, record.security_group_ids) if row.port_security_enabled else [],
        vxlan_peers=[p for p in peers if p != own],
        instance_uuid=row.device_id,
    )


def host_vifs(session: Session, host: str, tunnels: Mapping[str, str]) -> list[GuestVif]:
    """Every compute port bound to ``host``."""
    query = (
        select(m.Port)
        .where(m.Port.binding_host_id == host, m.Port.device_owner.like(COMPUTE_PREFIX + "%"))
        .order_by(m.Port.created_at)
    )
    return [guest_vif(session, row, tunnels) for row in session.scalars(query).all()]


def bound_hosts(session: Session) -> list[str]:
    """Hosts with compute ports bound to them."""
    query = select(m.Port.binding_host_id).where(
        m.Port.binding_host_id != "", m.Port.device_owner.like(COMPUTE_PREFIX + "%")
    )
    return sorted(set(session.scalars(query).all()))
