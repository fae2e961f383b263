"""Security groups and their rules in one session. Each project has a default group
(made when first needed): egress open, ingress only from members of the same group."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from virtfleet.db.models import network as m
from virtfleet.db.models.compute import utcnow
from virtfleet.network import errors
from virtfleet.network.records import Caller, RuleRecord, SecurityGroupRecord

DIRECTIONS = ("ingress", "egress")
ETHERTYPES = ("IPv4", "IPv6")
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132}
PORTED = ("tcp", "udp", "sctp", "6", "17", "132")
ICMP = ("icmp", "icmpv6", "ipv6-icmp", "1", "58")


def group_record(session: Session, row: m.SecurityGroup) -> SecurityGroupRecord:
    rules = session.scalars(
        select(m.SecurityGroupRule)
        .where(m.SecurityGroupRule.security_group_id == row.id)
        .order_by(m.SecurityGroupRule.created_at, m.SecurityGroupRule.id)
    ).all()
    return SecurityGroupRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        project_id=row.project_id,
        stateful=row.stateful,
        rules=tuple(rule_record(r) for r in rules),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def rule_record(row: m.SecurityGroupRule) -> RuleRecord:
    return RuleRecord(
        id=row.id,
        security_group_id=row.security_group_id,
        project_id=row.project_id,
        direction=row.direction,
        ethertype=row.ethertype,
        protocol=row.protocol,
        port_range_min=row.port_range_min,
        port_range_max=row.port_range_max,
        remote_ip_prefix=row.remote_ip_prefix,
        remote_group_id=row.remote_group_id,
        description=row.description,
        created_at=row.created_at,
    )


def ensure_default(session: Session, project_id: str) -> m.SecurityGroup:
    """The project's default group, made (with its four rules) if it has none."""
    found = session.scalar(select(m.SecurityGroup).where(m.SecurityGroup.default_of == project_id))
    if found is not None:
        return found
    group = m.SecurityGroup(
        id=str(uuid.uuid4()),
        name="default",
        description="Default security group",
        project_id=project_id,
        default_of=project_id,
    )
    session.add(group)
    for ethertype in ETHERTYPES:
        _add_rule(session, group, direction="egress", ethertype=ethertype)
        _add_rule(session, group, direction="ingress", ethertype=ethertype, remote_group=group.id)
    session.flush()
    return group


def _add_rule(
    session: Session,
    group: m.SecurityGroup,
    direction: str,
    ethertype: str,
    remote_group: str | None = None,
) -> None:
    session.add(
        m.SecurityGroupRule(
            id=str(uuid.uuid4()),
            security_group_id=group.id,
            project_id=group.project_id,
            direction=direction,
            ethertype=ethertype,
            remote_group_id=remote_group,
        )
    )


def visible_group(session: Session, caller: Caller, group_id: str) -> m.SecurityGroup:
    row = session.get(m.SecurityGroup, group_id)
    if row is None or not (caller.is_admin or row.project_id == caller.project_id):
        raise errors.SecurityGroupNotFound(f"Security group {group_id} does not exist")
    return row


def create_group(session: Session, caller: Caller, body: Mapping[str, Any]) -> m.SecurityGroup:
    project = body.get("project_id") or body.get("tenant_id") or caller.project_id
    if project != caller.project_id and not caller.is_admin:
        raise errors.PolicyNotAuthorized("Only administrators may create groups for others.")
    ensure_default(session, project)
    name = body.get("name") or ""
    if not isinstance(name, str) or len(name) > 255:
        raise errors.InvalidInput("Invalid input for name: expected a string of <= 255.")
    if name == "default":
        raise errors.InUse("Default security group already exists.")
    description = body.get("description") or ""
    if not isinstance(description, str) or len(description) > 255:
        raise errors.InvalidInput("Invalid input for description: expected a string of <= 255.")
    group = m.SecurityGroup(
        id=str(uuid.uuid4()),
        name=name,
        description=description,
        project_id=project,
        stateful=body.get("stateful", True) is not False,
    )
    session.add(group)
    for ethertype in ETHERTYPES:
        _add_rule(session, group, direction="egress", ethertype=ethertype)
    session.flush()
    return group


def update_group(
    session: Session, caller: Caller, group_id: str, body: Mapping[str, Any]
) -> m.SecurityGroup:
    row = visible_group(session, caller, group_id)
    for key, value in body.items():
        if key not in ("name", "description"):
            raise errors.InvalidInput(f"Unrecognized attribute(s) '{key}' for a group update.")
        if not isinstance(value, str) or len(value) > 255:
            raise errors.InvalidInput(f"Invalid input for {key}: expected a string of <= 255.")
        if key == "name" and row.default_of is not None and value != "default":
            raise errors.InvalidInput("The default security group cannot be renamed.")
        setattr(row, key, value)
    row.updated_at = utcnow()
    return row


def delete_group(session: Session, caller: Caller, group_id: str) -> None:
    row = visible_group(session, caller, group_id)
    if row.default_of is not None and not caller.is_admin:
        raise errors.InUse("Removing default security group not allowed.")
    users = session.scalars(
        select(m.PortSecurityGroup.port_id).where(m.PortSecurityGroup.security_group_id == row.id)
    ).all()
    if users:
        raise errors.InUse(
            f"Security Group {group_id} in use by port(s): {', '.join(sorted(users))}."
        )
    session.delete(row)


def create_rule(session: Session, caller: Caller, body: Mapping[str, Any]) -> m.SecurityGroupRule:
    group_id = body.get("security_group_id")
    if not isinstance(group_id, str):
        raise errors.InvalidInput("Invalid input for security_group_id: a group id is required.")
    group = visible_group(session, caller, group_id)
    direction = body.get("direction")
    if direction not in DIRECTIONS:
        raise errors.InvalidInput(
            f"Invalid input for direction: {direction!r} is not ingress/egress."
        )
    ethertype = body.get("ethertype") or "IPv4"
    if ethertype not in ETHERTYPES:
        raise errors.InvalidInput(f"Invalid input for ethertype: {ethertype!r} is not IPv4/IPv6.")
    protocol = _protocol(body.get("protocol"))
    low, high = _port_range(body, protocol)
    prefix = _prefix(body.get("remote_ip_prefix"), ethertype)
    remote_group = body.get("remote_group_id")
    if remote_group is not None:
        if prefix is not None:
            raise errors.InvalidInput(
                "Only remote_ip_prefix or remote_group_id may be provided, not both."
            )
        visible_group(session, caller, str(remote_group))
    rule = m.SecurityGroupRule(
        id=str(uuid.uuid4()),
        security_group_id=group.id,
        project_id=group.project_id,
        direction=direction,
        ethertype=ethertype,
        protocol=protocol,
        port_range_min=low,
        port_range_max=high,
        remote_ip_prefix=prefix,
        remote_group_id=remote_group,
        description=str(body.get("description") or ""),
    )
    for existing in session.scalars(
        select(m.SecurityGroupRule).where(m.SecurityGroupRule.security_group_id == group.id)
    ):
        if _same(existing, rule):
            raise errors.SecurityGroupRuleExists(
                f"Security group rule already exists. Rule id is {existing.id}."
            )
    session.add(rule)
    session.flush()
    return rule


def visible_rule(session: Session, caller: Caller, rule_id: str) -> m.SecurityGroupRule:
    row = session.get(m.SecurityGroupRule, rule_id)
    if row is None or not (caller.is_admin or row.project_id == caller.project_id):
        raise errors.SecurityGroupRuleNotFound(f"Security group rule {rule_id} does not exist")
    return row


def _same(a: m.SecurityGroupRule, b: m.SecurityGroupRule) -> bool:
    keys = (
        "direction",
        "ethertype",
        "protocol",
        "port_range_min",
        "port_range_max",
        "remote_ip_prefix",
        "remote_group_id",
    )
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def _protocol(value: Any) -> str | None:
    if value is None or value == "any":
        return None
    text = str(value).lower()
    if text in PROTOCOLS or (text.isdigit() and 0 <= int(text) <= 255):
        return text
    raise errors.InvalidInput(
        f"Security group rule protocol {value!r} not supported. Only protocol values "
        f"{', '.join(PROTOCOLS)} and integer representations [0 to 255] are supported."
    )


def _port_range(body: Mapping[str, Any], protocol: str | None) -> tuple[int | None, int | None]:
    low, high = body.get("port_range_min"), body.get("port_range_max")
    for name, value in (("port_range_min", low), ("port_range_max", high)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise errors.InvalidInput(f"Invalid input for {name}: {value!r} is not an integer.")
    if low is None and high is None:
        return None, None
    if protocol in PORTED:
        if low is None or high is None or not 1 <= low <= high <= 65535:
            raise errors.InvalidInput(
                f"Invalid port range {low}:{high}: ports are 1 to 65535 and "
                "port_range_min <= port_range_max."
            )
    elif protocol in ICMP:
        for name, value in (("type", low), ("code", high)):
            if value is not None and not 0 <= value <= 255:
                raise errors.InvalidInput(f"Invalid ICMP {name} {value}: 0 to 255.")
    else:
        raise errors.InvalidInput(
            f"Port ranges need protocol tcp, udp, sctp or icmp, not {protocol or 'any'}."
        )
    return low, high


def _prefix(value: Any, ethertype: str) -> str | None:
    if value is None:
        return None
    try:
        network = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise errors.InvalidInput(
            f"Invalid input for remote_ip_prefix: {value!r} is not a CIDR."
        ) from None
    if f"IPv{network.version}" != ethertype:
        raise errors.InvalidInput(f"Conflicting value ethertype {ethertype} for CIDR {value}.")
    return str(network)
