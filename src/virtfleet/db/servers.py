"""Server repository. The API creates servers; the conductor moves them through
their states with :func:`update` and :func:`set_fault`; deleting is a soft delete
(``deleted_at`` set), and deleted servers are invisible to :func:`get` and
:func:`list_servers` unless asked for."""

from __future__ import annotations

import dataclasses
import datetime
import types
import uuid as uuidlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy import update as sqlalchemy_update
from sqlalchemy.orm import Session

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import Server as ServerRow
from virtfleet.db.models.compute import utcnow
from virtfleet.objects.guest_request import GuestRequest


@dataclass(frozen=True)
class Server:
    uuid: str
    name: str
    project_id: str
    user_id: str
    flavor: Mapping[str, Any]
    image_ref: str
    image: Mapping[str, Any]
    guest_request: GuestRequest
    vm_state: str
    task_state: str | None
    power_state: int
    host: str | None
    node: str | None
    fault: Mapping[str, Any] | None
    metadata: Mapping[str, str]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    launched_at: datetime.datetime | None = None
    deleted_at: datetime.datetime | None = None
    owner: str | None = None  # the control server driving the current task
    description: str | None = None
    locked: bool = False
    locked_by: str | None = None  # "admin" or "owner" (who may unlock)
    locked_reason: str | None = None
    tags: tuple[str, ...] = ()
    key_name: str | None = None  # the key pair named at boot
    key_data: str | None = None  # its public key, as it was then
    user_data: str | None = None  # base64, as the boot gave it
    hostname: str | None = None  # the guest's hostname
    scheduler_hints: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    availability_zone: str | None = None  # the zone the boot asked for
    # Nova's system_metadata (shelved_at, shelved_image_id, shelved_host), never shown
    system_metadata: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class GuestAccess:
    """What a boot gives the guest to get in: the key pair (name and public key),
    the user data (base64) and the hostname."""

    key_name: str | None = None
    key_data: str | None = None
    user_data: str | None = None
    hostname: str | None = None


# Fields :func:`update` may change (``metadata`` maps onto the ``metadata_`` column).
UPDATABLE = frozenset(
    {
        "name",
        "vm_state",
        "task_state",
        "power_state",
        "host",
        "node",
        "fault",
        "metadata",
        "launched_at",
        "flavor",
        "image",
        "owner",
        "description",
        "locked",
        "locked_by",
        "locked_reason",
        "tags",
        "image_ref",
        "guest_request",
        "hostname",
        "availability_zone",
        "system_metadata",
        "key_name",
        "key_data",
        "user_data",
    }
)


def _record(row: Any) -> Server:
    """The server of a model instance or of a row of :data:`_COLUMNS`."""
    return Server(
        uuid=row.uuid,
        name=row.name,
        project_id=row.project_id,
        user_id=row.user_id,
        flavor=dict(row.flavor),
        image_ref=row.image_ref,
        image=dict(row.image),
        guest_request=GuestRequest.from_primitive(row.guest_request),
        vm_state=row.vm_state,
        task_state=row.task_state,
        power_state=row.power_state,
        host=row.host,
        node=row.node,
        fault=dict(row.fault) if row.fault else None,
        metadata=dict(row.metadata_),
        created_at=row.created_at,
        updated_at=row.updated_at,
        launched_at=row.launched_at,
        deleted_at=row.deleted_at,
        owner=row.owner,
        description=row.description,
        locked=bool(row.locked),
        locked_by=row.locked_by,
        locked_reason=row.locked_reason,
        tags=tuple(row.tags or ()),
        key_name=row.key_name,
        key_data=row.key_data,
        user_data=row.user_data,
        hostname=row.hostname,
        scheduler_hints=dict(row.scheduler_hints or {}),
        availability_zone=row.availability_zone,
        system_metadata=dict(row.system_metadata or {}),
    )


SERVERS: Table = ServerRow.__table__  # type: ignore[assignment]  # declarative: a Table

#: Every column, named as the model's attributes (``metadata`` as ``metadata_``), so
#: that a Core row reads like a model instance in :func:`_record`. The hot paths (state
#: transitions, gets, listings) use plain Core statements: building model instances
#: cost more than the queries.
_COLUMNS = [c.label("metadata_") if c.name == "metadata" else c for c in SERVERS.c]


def _core_row(conn: Connection, server_uuid: str, read_deleted: bool = False) -> Any:
    row = conn.execute(select(*_COLUMNS).where(SERVERS.c.uuid == server_uuid)).first()
    if row is None or (row.deleted_at is not None and not read_deleted):
        raise errors.NotFound(f"Instance {server_uuid} could not be found.")
    return row


def _row(session: Session, server_uuid: str, read_deleted: bool = False) -> ServerRow:
    row = session.get(ServerRow, server_uuid)
    if row is None or (row.deleted_at is not None and not read_deleted):
        raise errors.NotFound(f"Instance {server_uuid} could not be found.")
    return row


def create(
    db: Database,
    *,
    name: str,
    flavor: Mapping[str, Any],
    image_ref: str,
    image: Mapping[str, Any],
    guest_request: GuestRequest,
    project_id: str,
    user_id: str,
    metadata: Mapping[str, str] | None = None,
    server_uuid: str | None = None,
    owner: str | None = None,
    description: str | None = None,
    tags: tuple[str, ...] = (),
    access: GuestAccess | None = None,
    admit: Callable[[Connection], None] | None = None,
    scheduler_hints: Mapping[str, Any] | None = None,
    availability_zone: str | None = None,
    then: Callable[[Connection, str], None] | None = None,
) -> Server:
    """A new server in vm_state building / task_state scheduling, with the guest
    request the Compute API resolved from its flavor and image, and ``access`` (key,
    user data, hostname). ``admit`` runs first in the same write transaction (the
    quota check: writers take turns, so racing boots each count the others' rows);
    ``then`` runs last in it with the new uuid (e.g. joining a server group), so a
    refusal there leaves no server."""
    now = utcnow()
    access = access or GuestAccess()
    row = ServerRow(
        uuid=server_uuid or str(uuidlib.uuid4()),
        name=name,
        project_id=project_id,
        user_id=user_id,
        flavor=dict(flavor),
        image_ref=image_ref,
        image=dict(image),
        guest_request=guest_request.to_primitive(),
        vm_state="building",
        task_state="scheduling",
        power_state=0,
        metadata_=dict(metadata or {}),
        created_at=now,
        updated_at=now,
        owner=owner,
        description=description,
        tags=list(tags),
        locked=False,
        key_name=access.key_name,
        key_data=access.key_data,
        user_data=access.user_data,
        hostname=access.hostname,
        scheduler_hints=dict(scheduler_hints) if scheduler_hints else None,
        availability_zone=availability_zone,
    )
    with db.session() as session:
        if admit is not None:
            admit(session.connection())
        session.add(row)
        session.flush()
        if then is not None:
            then(session.connection(), row.uuid)
        return _record(row)


def get(db: Database, server_uuid: str, read_deleted: bool = False) -> Server:
    """The server; NotFound when it does not exist (or is deleted)."""
    with db.read() as conn:
        return _record(_core_row(conn, server_uuid, read_deleted))


def list_servers(db: Database, host: str | None = None, read_deleted: bool = False) -> list[Server]:
    """Servers, newest first."""
    query = select(*_COLUMNS).order_by(SERVERS.c.created_at.desc(), SERVERS.c.uuid)
    if not read_deleted:
        query = query.where(SERVERS.c.deleted_at.is_(None))
    if host is not None:
        query = query.where(SERVERS.c.host == host)
    with db.read() as conn:
        return [_record(row) for row in conn.execute(query)]


def update(db: Database, server_uuid: str, **fields: Any) -> Server:
    """Change fields (see :data:`UPDATABLE`); ``updated_at`` follows."""
    return update_if(db, server_uuid, lambda server: None, **fields)


def update_if(
    db: Database, server_uuid: str, check: Callable[[Server], None], **fields: Any
) -> Server:
    """:func:`update` once ``check`` (which raises to refuse) passed on the server as
    it is now, in the same write transaction (no other writer runs in between)."""
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise errors.InvalidInput(
            f"Cannot update server field(s) {', '.join(sorted(unknown))}; "
            f"updatable: {', '.join(sorted(UPDATABLE))}."
        )
    with db.write() as conn:
        row = _core_row(conn, server_uuid)
        check(_record(row))
        values: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "guest_request" and isinstance(value, GuestRequest):
                value = value.to_primitive()
            elif name == "tags":
                value = list(value)
            values[name] = value
        values["updated_at"] = utcnow()
        conn.execute(sqlalchemy_update(SERVERS).where(SERVERS.c.uuid == server_uuid).values(values))
        after = {**row._mapping, **values}
        after["metadata_"] = after.pop("metadata", after["metadata_"])
        return _record(types.SimpleNamespace(**after))


def set_fault(
    db: Database,
    server_uuid: str,
    message: str,
    code: int = 500,
    details: str = "",
    **fields: Any,
) -> Server:
    """Record why the server failed (shown by the API while it is in ERROR), with any
    other ``fields`` (e.g. ``vm_state="error"``) in the same transaction, so that no
    reader sees ERROR without its fault."""
    return update(db, server_uuid, **fields, fault=fault(message, code, details))


def fault(message: str, code: int = 500, details: str = "") -> dict[str, Any]:
    """A fault record (the ``fault`` field) saying why a server failed, dated now."""
    return {
        "code": code,
        "message": message,
        "details": details,
        "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def delete(db: Database, server_uuid: str) -> Server:
    """Soft-delete: vm_state deleted, deleted_at set; the row stays for history."""
    with db.session() as session:
        row = _row(session, server_uuid)
        now = utcnow()
        row.vm_state = "deleted"
        row.task_state = None
        row.deleted_at = now
        row.updated_at = now
        session.flush()
        return _record(row)


def in_progress(db: Database) -> list[Server]:
    """Servers with a task under way (``task_state`` set), oldest change first."""
    query = (
        select(*_COLUMNS)
        .where(SERVERS.c.deleted_at.is_(None), SERVERS.c.task_state.is_not(None))
        .order_by(SERVERS.c.updated_at, SERVERS.c.uuid)
    )
    with db.read() as conn:
        return [_record(row) for row in conn.execute(query)]


def take_over(db: Database, server_uuid: str, dead_owner: str, new_owner: str) -> bool:
    """Make ``new_owner`` the owner of the server's task if ``dead_owner`` still owns
    it; False when another server took it first (or it changed)."""
    with db.write() as conn:
        done = conn.execute(
            sqlalchemy_update(ServerRow)
            .where(ServerRow.uuid == server_uuid, ServerRow.owner == dead_owner)
            .values(owner=new_owner, updated_at=utcnow())
        )
        return done.rowcount == 1
