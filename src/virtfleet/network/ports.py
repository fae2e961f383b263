"""Ports in one session: MAC and fixed addresses (IPAM), security groups, binding.

Every check happens inside the write transaction; the unique keys (address per
subnet, MAC per network) stay the last word should two writers ever interleave."""

from __future__ import annotations

import ipaddress
import re
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from virtfleet.db.models import network as m
from virtfleet.db.models.compute import utcnow
from virtfleet.network import errors, ipam, security_groups
from virtfleet.network.networks import visible_network
from virtfleet.network.records import Caller, FixedIP, PortRecord

MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
MAC_PREFIX = "fa:16:3e"  # locally administered, as OpenStack's ports have
UPDATABLE = (
    "name",
    "description",
    "admin_state_up",
    "device_id",
    "device_owner",
    "binding:host_id",
    "security_groups",
    "port_security_enabled",
    "status",
)


def port_record(session: Session, row: m.Port) -> PortRecord:
    allocations = session.scalars(
        select(m.IPAllocation).where(m.IPAllocation.port_id == row.id)
    ).all()
    groups = session.scalars(
        select(m.PortSecurityGroup.security_group_id).where(m.PortSecurityGroup.port_id == row.id)
    ).all()
    return PortRecord(
        id=row.id,
        network_id=row.network_id,
        name=row.name,
        description=row.description,
        project_id=row.project_id,
        mac_address=row.mac_address,
        admin_state_up=row.admin_state_up,
        status=row.status,
        device_owner=row.device_owner,
        device_id=row.device_id,
        binding_host_id=row.binding_host_id,
        port_security_enabled=row.port_security_enabled,
        fixed_ips=tuple(
            FixedIP(a.subnet_id, a.ip_address)
            for a in sorted(allocations, key=lambda a: (a.subnet_id, a.ip_address))
        ),
        security_group_ids=tuple(sorted(groups)),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def visible_port(session: Session, caller: Caller, port_id: str) -> m.Port:
    row = session.get(m.Port, port_id)
    if row is None or not (caller.is_admin or row.project_id == caller.project_id):
        raise errors.PortNotFound(f"Port {port_id} could not be found.")
    return row


def create_port(session: Session, caller: Caller, body: Mapping[str, Any]) -> m.Port:
    network_id = body.get("network_id")
    if not isinstance(network_id, str):
        raise errors.InvalidInput("Invalid input for network_id: a network id is required.")
    network = visible_network(session, caller, network_id)
    project = body.get("project_id") or body.get("tenant_id") or caller.project_id
    if project != caller.project_id and not caller.is_admin:
        raise errors.PolicyNotAuthorized("Only administrators may create ports for others.")
    port = m.Port(
        id=str(uuid.uuid4()),
        network_id=network.id,
        name=_text(body, "name"),
        description=_text(body, "description"),
        project_id=project,
        mac_address=_mac(session, network.id, body.get("mac_address")),
        admin_state_up=body.get("admin_state_up", True) is not False,
        device_owner=_text(body, "device_owner"),
        device_id=_text(body, "device_id"),
        binding_host_id=_text(body, "binding:host_id"),
        port_security_enabled=body.get("port_security_enabled", network.port_security_enabled)
        is not False,
    )
    session.add(port)
    session.flush()
    allocate(session, port, network.id, body.get("fixed_ips"))
    _set_groups(session, caller, port, body.get("security_groups"), creating=True)
    session.flush()
    return port


def update_port(session: Session, caller: Caller, port_id: str, body: Mapping[str, Any]) -> m.Port:
    row = visible_port(session, caller, port_id)
    for key in body:
        if key not in UPDATABLE:
            raise errors.InvalidInput(f"Unrecognized attribute(s) '{key}' for a port update.")
    for key in ("name", "description", "device_id", "device_owner"):
        if key in body:
            setattr(row, key, _text(body, key))
    if "binding:host_id" in body:
        row.binding_host_id = _text(body, "binding:host_id")
    if "admin_state_up" in body:
        row.admin_state_up = body["admin_state_up"] is not False
    if "status" in body:
        if body["status"] not in ("ACTIVE", "DOWN", "BUILD"):
            raise errors.InvalidInput(f"Invalid input for status: {body['status']!r}.")
        row.status = body["status"]
    if "port_security_enabled" in body:
        row.port_security_enabled = body["port_security_enabled"] is not False
    if "security_groups" in body or "port_security_enabled" in body:
        groups = body.get("security_groups")
        if "security_groups" not in body:
            groups = None if row.port_security_enabled else []
            if groups is None:
                return _touched(row)
        _set_groups(session, caller, row, groups, creating=False)
    return _touched(row)


def delete_port(session: Session, caller: Caller, port_id: str) -> None:
    row = visible_port(session, caller, port_id)
    session.execute(delete(m.IPAllocation).where(m.IPAllocation.port_id == row.id))
    session.execute(delete(m.PortSecurityGroup).where(m.PortSecurityGroup.port_id == row.id))
    session.delete(row)


def allocate(session: Session, port: m.Port, network_id: str, fixed_ips: Any) -> None:
    """Give ``port`` its addresses: those asked for (checked: in a subnet of the
    network, inside it, free; on a SLAAC subnet only the EUI-64 one), or, when none are
    asked for, its EUI-64 address on every SLAAC (slaac, dhcpv6-stateless) subnet and
    the first free one of the first IPv4 and the first other IPv6 subnet with room."""
    subnets = session.scalars(
        select(m.Subnet).where(m.Subnet.network_id == network_id).order_by(m.Subnet.created_at)
    ).all()
    if fixed_ips is None:
        for subnet in (s for s in subnets if _automatic(s)):  # as Neutron: every one of them
            _allocate_exact(session, port, subnet, _eui64(subnet, port))
        for version in (4, 6):
            for subnet in (s for s in subnets if s.ip_version == version and not _automatic(s)):
                if _allocate_free(session, port, subnet, fail=False):
                    break
            else:
                if any(s.ip_version == version and not _automatic(s) for s in subnets):
                    raise _exhausted(network_id)
        return
    if not isinstance(fixed_ips, list) or not all(isinstance(f, dict) for f in fixed_ips):
        raise errors.InvalidInput(
            "Invalid input for fixed_ips: expected a list of {subnet_id, ip_address} objects."
        )
    by_id = {s.id: s for s in subnets}
    for wanted in fixed_ips:
        subnet_id, text = wanted.get("subnet_id"), wanted.get("ip_address")
        if subnet_id is not None and subnet_id not in by_id:
            raise errors.InvalidInput(
                f"Invalid input for fixed_ips: subnet {subnet_id} is not on network {network_id}."
            )
        if text is None:
            if subnet_id is None:
                raise errors.InvalidInput("Invalid input for fixed_ips: an entry names nothing.")
            _allocate_free(session, port, by_id[subnet_id], fail=True)
            continue
        address = ipam.parse_address(text, "fixed_ips ip_address")
        subnet = by_id[subnet_id] if subnet_id else _subnet_holding(subnets, address, network_id)
        _allocate_exact(session, port, subnet, address)


def _subnet_holding(subnets: Any, address: ipam.IPAddress, network_id: str) -> m.Subnet:
    for subnet in subnets:
        if address in ipaddress.ip_network(subnet.cidr):
            return subnet  # type: ignore[no-any-return]
    raise errors.InvalidIpForSubnet(
        f"IP address {address} is not a valid IP for any subnet on network {network_id}."
    )


def _automatic(subnet: m.Subnet) -> bool:
    """Whether the subnet's addresses are made by the guests (SLAAC)."""
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in ipam.AUTOMATIC_V6_MODES


def _eui64(subnet: m.Subnet, port: m.Port) -> ipaddress.IPv6Address:
    return ipam.eui64(ipaddress.ip_network(subnet.cidr), port.mac_address)


def _allocate_exact(
    session: Session, port: m.Port, subnet: m.Subnet, address: ipam.IPAddress
) -> None:
    network = ipaddress.ip_network(subnet.cidr)
    if _automatic(subnet) and address != _eui64(subnet, port):
        raise errors.InvalidInput(
            f"IPv6 address {address} cannot be directly assigned to a port on subnet "
            f"{subnet.id} since the subnet is configured for automatic addresses "
            f"({subnet.ipv6_address_mode}): the port's address there is "
            f"{_eui64(subnet, port)}."
        )
    first, last = ipam.host_range(network)
    if address.version != network.version or not first <= address <= last:  # type: ignore[operator]
        raise errors.InvalidIpForSubnet(
            f"IP address {address} is not a valid IP for the specified subnet "
            f"{subnet.id} ({subnet.cidr})."
        )
    if subnet.gateway_ip == str(address):
        raise errors.IpAddressInUse(
            f"Unable to complete operation for network {subnet.network_id}. The IP address "
            f"{address} is the subnet's gateway."
        )
    taken = session.get(m.IPAllocation, (subnet.id, str(address)))
    if taken is not None:
        raise errors.IpAddressInUse(
            f"Unable to complete operation for network {subnet.network_id}. The IP address "
            f"{address} is in use."
        )
    session.add(m.IPAllocation(subnet_id=subnet.id, ip_address=str(address), port_id=port.id))


def _allocate_free(session: Session, port: m.Port, subnet: m.Subnet, fail: bool) -> bool:
    if _automatic(subnet):  # the address the guest will make from the prefix and its MAC
        _allocate_exact(session, port, subnet, _eui64(subnet, port))
        return True
    used = set(
        session.scalars(
            select(m.IPAllocation.ip_address).where(m.IPAllocation.subnet_id == subnet.id)
        )
    )
    for address in ipam.candidates(ipam.pools_from_rows(subnet.allocation_pools), used):
        session.add(m.IPAllocation(subnet_id=subnet.id, ip_address=str(address), port_id=port.id))
        session.flush()
        return True
    if fail:
        raise _exhausted(subnet.network_id)
    return False


def _exhausted(network_id: str) -> errors.IpAddressGenerationFailure:
    return errors.IpAddressGenerationFailure(
        f"No more IP addresses available on network {network_id}."
    )


def _mac(session: Session, network_id: str, given: Any) -> str:
    if given is None:
        while True:
            mac = MAC_PREFIX + "".join(f":{secrets.randbelow(256):02x}" for _ in range(3))
            if not _mac_taken(session, network_id, mac):
                return mac
    if not isinstance(given, str) or not MAC.fullmatch(given.lower()):
        raise errors.InvalidInput(f"Invalid input for mac_address: {given!r} is not a MAC.")
    mac = given.lower()
    if int(mac[:2], 16) & 1:
        raise errors.InvalidInput(f"Invalid input for mac_address: {mac} is a multicast MAC.")
    if _mac_taken(session, network_id, mac):
        raise errors.MacAddressInUse(
            f"Unable to complete operation for network {network_id}. The mac address {mac} "
            "is in use."
        )
    return mac


def _mac_taken(session: Session, network_id: str, mac: str) -> bool:
    found = session.scalar(
        select(m.Port.id).where(m.Port.network_id == network_id, m.Port.mac_address == mac)
    )
    return found is not None


def _set_groups(
    session: Session, caller: Caller, port: m.Port, groups: Any, creating: bool
) -> None:
    if groups is None and creating:
        groups = (
            [security_groups.ensure_default(session, port.project_id).id]
            if port.port_security_enabled
            else []
        )
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise errors.InvalidInput("Invalid input for security_groups: expected a list of ids.")
    if groups and not port.port_security_enabled:
        raise errors.InvalidInput(
            "Port has security group associated. Cannot disable port security or IP "
            "address until security group is removed."
            if not creating
            else "Port security must be enabled in order to have security groups on a port."
        )
    session.execute(delete(m.PortSecurityGroup).where(m.PortSecurityGroup.port_id == port.id))
    for group_id in dict.fromkeys(groups):
        group = security_groups.visible_group(session, caller, group_id)
        session.add(m.PortSecurityGroup(port_id=port.id, security_group_id=group.id))


def _touched(row: m.Port) -> m.Port:
    row.updated_at = utcnow()
    return row


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key) or ""
    if not isinstance(value, str) or len(value) > 255:
        raise errors.InvalidInput(f"Invalid input for {key}: expected a string of <= 255.")
    return value
