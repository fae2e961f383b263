"""Networks and subnets in one session: create, read, update, delete, with Neutron's
rules (provider attributes for administrators, no overlapping subnets in a network,
nothing deleted while ports use it)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from virtfleet.db.models import network as m
from virtfleet.db.models.compute import utcnow
from virtfleet.network import errors, ipam, segments
from virtfleet.network.records import Caller, NetworkRecord, SubnetRecord

VXLAN_MTU = 1450  # 1500 less the VXLAN/UDP/IP/Ethernet headers


def network_record(session: Session, row: m.Network) -> NetworkRecord:
    subnet_ids = session.scalars(
        select(m.Subnet.id).where(m.Subnet.network_id == row.id).order_by(m.Subnet.created_at)
    ).all()
    return NetworkRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        project_id=row.project_id,
        admin_state_up=row.admin_state_up,
        shared=row.shared,
        external=row.external,
        mtu=row.mtu,
        port_security_enabled=row.port_security_enabled,
        network_type=row.network_type,
        physical_network=row.physical_network or None,
        segmentation_id=row.segmentation_id or None,
        subnet_ids=tuple(subnet_ids),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def subnet_record(row: m.Subnet) -> SubnetRecord:
    return SubnetRecord(
        id=row.id,
        network_id=row.network_id,
        name=row.name,
        description=row.description,
        project_id=row.project_id,
        ip_version=row.ip_version,
        cidr=row.cidr,
        gateway_ip=row.gateway_ip,
        allocation_pools=tuple((p["start"], p["end"]) for p in row.allocation_pools),
        dns_nameservers=tuple(row.dns_nameservers),
        enable_dhcp=row.enable_dhcp,
        ipv6_address_mode=row.ipv6_address_mode,
        ipv6_ra_mode=row.ipv6_ra_mode,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def visible_network(session: Session, caller: Caller, network_id: str) -> m.Network:
    row = session.get(m.Network, network_id)
    if row is None or not (caller.is_admin or row.shared or row.project_id == caller.project_id):
        raise errors.NetworkNotFound(f"Network {network_id} could not be found.")
    return row


def owned_network(session: Session, caller: Caller, network_id: str) -> m.Network:
    row = visible_network(session, caller, network_id)
    if not caller.is_admin and row.project_id != caller.project_id:
        raise errors.PolicyNotAuthorized(
            f"Network {network_id} belongs to another project; only its owner may change it."
        )
    return row


def create_network(
    session: Session, caller: Caller, body: Mapping[str, Any], physnets: Collection[str]
) -> m.Network:
    if segments.requested(body) and not caller.is_admin:
        raise errors.PolicyNotAuthorized(
            "Only administrators may set provider:network_type, provider:physical_network "
            "or provider:segmentation_id."
        )
    if body.get("shared") and not caller.is_admin:
        raise errors.PolicyNotAuthorized("Only administrators may create shared networks.")
    segment = segments.provider_segment(body, physnets) if segments.requested(body) else None
    if segment is None:
        used = set(
            session.scalars(
                select(m.Network.segmentation_id).where(m.Network.network_type == "vxlan")
            )
        )
        segment = segments.lowest_free_vni(used)
    taken = session.scalar(
        select(m.Network.id).where(
            m.Network.network_type == segment.network_type,
            m.Network.physical_network == segment.physical_network,
            m.Network.segmentation_id == segment.segmentation_id,
        )
    )
    if taken is not None:
        what = (
            f"physical network {segment.physical_network} (flat)"
            if segment.network_type == "flat"
            else f"{segment.network_type} segment {segment.segmentation_id}"
            + (f" on {segment.physical_network}" if segment.physical_network else "")
        )
        raise errors.SegmentInUse(f"Unable to create the network: {what} is in use by {taken}.")
    project = body.get("project_id") or body.get("tenant_id") or caller.project_id
    if project != caller.project_id and not caller.is_admin:
        raise errors.PolicyNotAuthorized("Only administrators may create networks for others.")
    row = m.Network(
        id=str(uuid.uuid4()),
        name=_text(body, "name"),
        description=_text(body, "description"),
        project_id=project,
        admin_state_up=_flag(body, "admin_state_up", True),
        shared=_flag(body, "shared", False),
        external=_flag(body, "router:external", False),
        port_security_enabled=_flag(body, "port_security_enabled", True),
        network_type=segment.network_type,
        physical_network=segment.physical_network,
        segmentation_id=segment.segmentation_id,
        mtu=VXLAN_MTU if segment.network_type == "vxlan" else 1500,
    )
    mtu = body.get("mtu")
    if mtu is not None:
        if not isinstance(mtu, int) or isinstance(mtu, bool) or not 68 <= mtu <= row.mtu:
            raise errors.InvalidInput(
                f"Invalid input for mtu: {mtu!r}; a {row.network_type} network takes 68 to "
                f"{row.mtu}."
            )
        row.mtu = mtu
    session.add(row)
    session.flush()
    return row


UPDATABLE_NETWORK = ("name", "description", "admin_state_up", "port_security_enabled", "shared")


def update_network(
    session: Session, caller: Caller, network_id: str, body: Mapping[str, Any]
) -> m.Network:
    row = owned_network(session, caller, network_id)
    if segments.requested(body):
        raise errors.InvalidInput("Provider attributes of a network cannot be changed.")
    for key in body:
        if key not in UPDATABLE_NETWORK:
            raise errors.InvalidInput(f"Unrecognized attribute(s) '{key}' for a network update.")
        if key == "shared" and not caller.is_admin:
            raise errors.PolicyNotAuthorized("Only administrators may share networks.")
        setattr(row, key, _text(body, key) if key in ("name", "description") else _flag(body, key))
    row.updated_at = utcnow()
    return row


def delete_network(session: Session, caller: Caller, network_id: str) -> None:
    row = owned_network(session, caller, network_id)
    in_use = session.scalar(
        select(func.count())
        .select_from(m.Port)
        .where(m.Port.network_id == network_id, m.Port.device_owner.not_like("network:%"))
    )
    if in_use:
        raise errors.InUse(
            f"Unable to complete operation on network {network_id}. There are {in_use} "
            "port(s) on it still in use."
        )
    session.execute(delete(m.Port).where(m.Port.network_id == network_id))
    session.execute(delete(m.Subnet).where(m.Subnet.network_id == network_id))
    session.delete(row)


def create_subnet(session: Session, caller: Caller, body: Mapping[str, Any]) -> m.Subnet:
    network_id = body.get("network_id")
    if not isinstance(network_id, str):
        raise errors.InvalidInput("Invalid input for network_id: a network id is required.")
    network = owned_network(session, caller, network_id)
    version = body.get("ip_version", 4)
    if version not in (4, 6):
        raise errors.InvalidInput(f"Invalid input for ip_version: {version!r} is not 4 or 6.")
    cidr = ipam.parse_cidr(body.get("cidr"), version)
    siblings = session.scalars(select(m.Subnet.cidr).where(m.Subnet.network_id == network_id))
    clash = ipam.overlapping(cidr, list(siblings))
    if clash is not None:
        raise errors.InvalidInput(
            f"Invalid input for operation: Requested subnet with cidr: {cidr} for network: "
            f"{network_id} overlaps with another subnet ({clash})."
        )
    gateway: ipam.IPAddress | None
    if "gateway_ip" in body and body["gateway_ip"] is None:
        gateway = None
    elif "gateway_ip" in body:
        gateway = ipam.parse_address(body["gateway_ip"], "gateway_ip")
        ipam.check_gateway(cidr, gateway)
    else:
        gateway = ipam.default_gateway(cidr)
    if body.get("allocation_pools"):
        pools = ipam.parse_pools(cidr, body["allocation_pools"], gateway)
    else:
        pools = ipam.default_pools(cidr, gateway)
    dns = body.get("dns_nameservers") or []
    if not isinstance(dns, list):
        raise errors.InvalidInput("Invalid input for dns_nameservers: expected a list.")
    for server in dns:
        ipam.parse_address(server, "dns_nameservers")
    if len(set(dns)) != len(dns):
        raise errors.InvalidInput(f"Duplicate nameserver in dns_nameservers: {dns}.")
    row = m.Subnet(
        id=str(uuid.uuid4()),
        network_id=network.id,
        name=_text(body, "name"),
        description=_text(body, "description"),
        project_id=network.project_id,
        ip_version=version,
        cidr=str(cidr),
        gateway_ip=None if gateway is None else str(gateway),
        allocation_pools=[p.as_dict() for p in pools],
        dns_nameservers=list(dns),
        enable_dhcp=_flag(body, "enable_dhcp", True),
        ipv6_address_mode=_v6_mode(body, "ipv6_address_mode", version),
        ipv6_ra_mode=_v6_mode(body, "ipv6_ra_mode", version),
    )
    _check_v6_modes(row.ipv6_address_mode, row.ipv6_ra_mode, cidr)
    session.add(row)
    session.flush()
    return row


def visible_subnet(session: Session, caller: Caller, subnet_id: str) -> m.Subnet:
    row = session.get(m.Subnet, subnet_id)
    if row is None:
        raise errors.SubnetNotFound(f"Subnet {subnet_id} could not be found.")
    try:
        visible_network(session, caller, row.network_id)
    except errors.NetworkNotFound:
        raise errors.SubnetNotFound(f"Subnet {subnet_id} could not be found.") from None
    return row


def update_subnet(
    session: Session, caller: Caller, subnet_id: str, body: Mapping[str, Any]
) -> m.Subnet:
    row = visible_subnet(session, caller, subnet_id)
    owned_network(session, caller, row.network_id)
    for key in body:
        if key in ("name", "description"):
            setattr(row, key, _text(body, key))
        elif key == "enable_dhcp":
            row.enable_dhcp = _flag(body, key)
        elif key == "dns_nameservers":
            servers = body[key] or []
            if not isinstance(servers, list):
                raise errors.InvalidInput("Invalid input for dns_nameservers: expected a list.")
            for server in servers:
                ipam.parse_address(server, "dns_nameservers")
            row.dns_nameservers = list(servers)
        else:
            raise errors.InvalidInput(f"Unrecognized attribute(s) '{key}' for a subnet update.")
    row.updated_at = utcnow()
    return row


def delete_subnet(session: Session, caller: Caller, subnet_id: str) -> None:
    row = visible_subnet(session, caller, subnet_id)
    owned_network(session, caller, row.network_id)
    network_owned = select(m.Port.id).where(
        m.Port.network_id == row.network_id, m.Port.device_owner.like("network:%")
    )
    session.execute(  # the hosts' DHCP ports give their address on it back
        delete(m.IPAllocation).where(
            m.IPAllocation.subnet_id == row.id, m.IPAllocation.port_id.in_(network_owned)
        )
    )
    used = session.scalar(
        select(func.count()).select_from(m.IPAllocation).where(m.IPAllocation.subnet_id == row.id)
    )
    if used:
        raise errors.InUse(
            f"Unable to complete operation on subnet {subnet_id}: {used} address(es) of it "
            "are allocated to ports."
        )
    session.delete(row)


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key) or ""
    if not isinstance(value, str) or len(value) > 255:
        raise errors.InvalidInput(f"Invalid input for {key}: expected a string of <= 255.")
    return value


def _flag(body: Mapping[str, Any], key: str, default: bool | None = None) -> bool:
    value = body.get(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise errors.InvalidInput(f"Invalid input for {key}: {value!r} is not a boolean.")
    return value


IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")


def _check_v6_modes(address_mode: str | None, ra_mode: str | None, cidr: ipam.IPNetwork) -> None:
    """As Neutron: both modes set must agree, and addresses the guests make (SLAAC)
    need a /64."""
    if address_mode and ra_mode and address_mode != ra_mode:
        raise errors.InvalidInput(
            f"Invalid input: ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to "
            f"'{address_mode}' is not valid. If both attributes are set, they must be the "
            "same value."
        )
    if address_mode in ipam.AUTOMATIC_V6_MODES and cidr.prefixlen != 64:
        raise errors.InvalidInput(
            f"Invalid CIDR {cidr} for IPv6 address mode {address_mode}: addresses made from "
            "the MAC (EUI-64) need a /64 prefix."
        )


def _v6_mode(body: Mapping[str, Any], key: str, version: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if version != 6:
        raise errors.InvalidInput(f"Invalid input for {key}: only IPv6 subnets take it.")
    if value not in IPV6_MODES:
        raise errors.InvalidInput(
            f"Invalid input for {key}: {value!r} is not one of {', '.join(IPV6_MODES)}."
        )
    return str(value)
