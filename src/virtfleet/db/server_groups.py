"""Server group repository: groups (policy and rules) and their members.

A server joins its group in the write transaction that creates it
(:func:`add_member` as the create's ``then``), and leaves it when its boot fails or
it is deleted (:func:`remove_member`)."""

from __future__ import annotations

import dataclasses
import datetime
import uuid as uuidlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import Server as ServerRow
from virtfleet.db.models.compute import utcnow
from virtfleet.db.models.scheduling import ServerGroup, ServerGroupMember

GROUPS: Table = ServerGroup.__table__  # type: ignore[assignment]  # declarative: a Table
MEMBERS: Table = ServerGroupMember.__table__  # type: ignore[assignment]  # declarative: a Table
SERVERS: Table = ServerRow.__table__  # type: ignore[assignment]  # declarative: a Table


@dataclasses.dataclass(frozen=True)
class Group:
    uuid: str
    name: str
    project_id: str
    user_id: str
    policy: str
    rules: Mapping[str, Any]
    members: tuple[str, ...]
    created_at: datetime.datetime


def _not_found(uuid: str) -> errors.NotFound:
    return errors.NotFound(f"Server group {uuid} could not be found.")


def _members(conn: Connection, group_id: int) -> tuple[str, ...]:
    rows = conn.execute(
        select(MEMBERS.c.instance_uuid)
        .where(MEMBERS.c.group_id == group_id)
        .order_by(MEMBERS.c.instance_uuid)
    )
    return tuple(r[0] for r in rows)


def _record(conn: Connection, row: Any) -> Group:
    return Group(
        uuid=row.uuid,
        name=row.name,
        project_id=row.project_id,
        user_id=row.user_id,
        policy=row.policy,
        rules=dict(row.rules or {}),
        members=_members(conn, row.id),
        created_at=row.created_at,
    )


def create(
    db: Database,
    *,
    name: str,
    policy: str,
    rules: Mapping[str, Any],
    project_id: str,
    user_id: str,
) -> Group:
    uuid = str(uuidlib.uuid4())
    with db.write() as conn:
        conn.execute(
            insert(GROUPS).values(
                uuid=uuid,
                name=name,
                project_id=project_id,
                user_id=user_id,
                policy=policy,
                rules=dict(rules),
                created_at=utcnow(),
            )
        )
        row = conn.execute(select(GROUPS).where(GROUPS.c.uuid == uuid)).one()
        return _record(conn, row)


def get(db: Database, uuid: str) -> Group:
    """The group; NotFound when there is none."""
    with db.read() as conn:
        row = conn.execute(select(GROUPS).where(GROUPS.c.uuid == uuid)).one_or_none()
        if row is None:
            raise _not_found(uuid)
        return _record(conn, row)


def list_groups(db: Database, project_id: str | None = None) -> list[Group]:
    """Every group (of ``project_id`` when given), oldest first."""
    query = select(GROUPS).order_by(GROUPS.c.id)
    if project_id is not None:
        query = query.where(GROUPS.c.project_id == project_id)
    with db.read() as conn:
        return [_record(conn, row) for row in conn.execute(query).all()]


def delete_group(db: Database, uuid: str) -> None:
    """Delete the group (its members stay, outside any group); NotFound if none."""
    with db.write() as conn:
        if conn.execute(delete(GROUPS).where(GROUPS.c.uuid == uuid)).rowcount == 0:
            raise _not_found(uuid)


def add_member(conn: Connection, group_uuid: str, instance_uuid: str) -> None:
    """Make the server a member, in the caller's write transaction; NotFound when
    the group is gone."""
    row = conn.execute(
        select(GROUPS.c.id).where(GROUPS.c.uuid == group_uuid).with_for_update()
    ).one_or_none()
    if row is None:
        raise _not_found(group_uuid)
    conn.execute(insert(MEMBERS).values(group_id=row.id, instance_uuid=instance_uuid))


def remove_member(db: Database, instance_uuid: str) -> None:
    """The server leaves its group (nothing when it is in none)."""
    with db.write() as conn:
        conn.execute(delete(MEMBERS).where(MEMBERS.c.instance_uuid == instance_uuid))


def group_of(db: Database, instance_uuid: str) -> Group | None:
    """The group the server is a member of, or None."""
    with db.read() as conn:
        row = conn.execute(
            select(GROUPS)
            .join(MEMBERS, MEMBERS.c.group_id == GROUPS.c.id)
            .where(MEMBERS.c.instance_uuid == instance_uuid)
        ).one_or_none()
        return None if row is None else _record(conn, row)


def member_hosts(db: Database, group_uuid: str, leave_out: str | None = None) -> dict[str, int]:
    """Host -> how many of the group's live members are on it (``leave_out``, the
    server being placed, not counted)."""
    query = (
        select(SERVERS.c.host, func.count())
        .select_from(
            MEMBERS.join(GROUPS, MEMBERS.c.group_id == GROUPS.c.id).join(
                SERVERS, SERVERS.c.uuid == MEMBERS.c.instance_uuid
            )
        )
        .where(
            GROUPS.c.uuid == group_uuid,
            SERVERS.c.deleted_at.is_(None),
            SERVERS.c.host.is_not(None),
        )
        .group_by(SERVERS.c.host)
    )
    if leave_out is not None:
        query = query.where(MEMBERS.c.instance_uuid != leave_out)
    with db.read() as conn:
        return {str(host): int(count) for host, count in conn.execute(query)}


def hosts_of(db: Database, instance_uuids: tuple[str, ...]) -> dict[str, str | None]:
    """Server uuid -> its host (None while it has none), for the live servers named."""
    if not instance_uuids:
        return {}
    query = select(SERVERS.c.uuid, SERVERS.c.host).where(
        SERVERS.c.uuid.in_(instance_uuids), SERVERS.c.deleted_at.is_(None)
    )
    with db.read() as conn:
        return {str(uuid): host for uuid, host in conn.execute(query)}
