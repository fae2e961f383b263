"""Provider rows: create, rename, re-parent, delete; tree bookkeeping."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, select, update

from virtfleet.placement.dbutil import (
    ALLOCATIONS,
    INVENTORIES,
    PROVIDER_AGGREGATES,
    PROVIDER_COLUMNS,
    PROVIDER_TRAITS,
    PROVIDERS,
    check_generation,
    provider_row,
    record_changes,
)
from virtfleet.placement.exceptions import (
    DUPLICATE_NAME,
    PROVIDER_CANNOT_DELETE_PARENT,
    PROVIDER_IN_USE,
    Conflict,
    InvalidInput,
)
from virtfleet.placement.types import Provider

MAX_NAME_LENGTH = 200


def normalize_uuid(value: str, what: str = "uuid") -> str:
    """The canonical dashed lower-case form, or InvalidInput naming the value."""
    try:
        return str(uuidlib.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(f"Invalid {what}: {value!r} is not a UUID") from None


def _check_name(conn: Connection, name: str, own_id: int | None) -> None:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"Invalid resource provider name {name!r}: 1 to 200 characters")
    other = conn.execute(select(PROVIDERS.c.id).where(PROVIDERS.c.name == name)).scalar()
    if other is not None and other != own_id:
        raise Conflict(
            f"Conflicting resource provider name: {name} already exists.", DUPLICATE_NAME
        )


def to_provider(conn: Connection, row: Any) -> Provider:
    """A Provider value from a provider row (looks up parent and root uuids)."""
    parent_uuid = None
    if row.parent_id is not None:
        parent_uuid = conn.execute(
            select(PROVIDERS.c.uuid).where(PROVIDERS.c.id == row.parent_id)
        ).scalar_one()
    root_uuid = row.uuid
    if row.root_id != row.id:
        root_uuid = conn.execute(
            select(PROVIDERS.c.uuid).where(PROVIDERS.c.id == row.root_id)
        ).scalar_one()
    return Provider(row.uuid, row.name, row.generation, parent_uuid, root_uuid)


def _parent_row(conn: Connection, parent_uuid: str) -> Any:
    row = conn.execute(select(*PROVIDER_COLUMNS).where(PROVIDERS.c.uuid == parent_uuid)).first()
    if row is None:
        raise InvalidInput(f"parent provider UUID {parent_uuid} does not exist")
    return row


def create_provider(
    conn: Connection, name: str, uuid: str | None, parent_uuid: str | None
) -> Provider:
    rp_uuid = normalize_uuid(uuid) if uuid is not None else str(uuidlib.uuid4())
    _check_name(conn, name, None)
    taken = conn.execute(select(PROVIDERS.c.id).where(PROVIDERS.c.uuid == rp_uuid)).scalar()
    if taken is not None:
        raise Conflict(
            f"Conflicting resource provider uuid: {rp_uuid} already exists.", DUPLICATE_NAME
        )
    parent = None
    if parent_uuid is not None:
        parent = _parent_row(conn, normalize_uuid(parent_uuid, "parent_provider_uuid"))
    result = conn.execute(
        insert(PROVIDERS).values(
            uuid=rp_uuid,
            name=name,
            generation=0,
            parent_id=parent.id if parent else None,
            root_id=parent.root_id if parent else 0,
        )
    )
    assert result.inserted_primary_key is not None  # an insert always has a key
    new_id = int(result.inserted_primary_key[0])
    root_id = parent.root_id if parent else new_id
    if parent is None:
        conn.execute(update(PROVIDERS).where(PROVIDERS.c.id == new_id).values(root_id=new_id))
    record_changes(conn, [root_id])
    return Provider(rp_uuid, name, 0, parent.uuid if parent else None, _uuid_of(conn, root_id))


def _uuid_of(conn: Connection, provider_id: int) -> str:
    return str(
        conn.execute(select(PROVIDERS.c.uuid).where(PROVIDERS.c.id == provider_id)).scalar_one()
    )


def _subtree_ids(conn: Connection, row: Any) -> set[int]:
    """The provider and all its descendants."""
    members = conn.execute(
        select(PROVIDERS.c.id, PROVIDERS.c.parent_id).where(PROVIDERS.c.root_id == row.root_id)
    ).all()
    children: dict[int, list[int]] = {}
    for member in members:
        if member.parent_id is not None:
            children.setdefault(member.parent_id, []).append(member.id)
    found = {row.id}
    stack = [row.id]
    while stack:
        for child in children.get(stack.pop(), ()):
            found.add(child)
            stack.append(child)
    return found


def update_provider(
    conn: Connection,
    uuid: str,
    name: str,
    parent_uuid: str | None,
    generation: int | None,
    allow_reparent: bool,
) -> Provider:
    row = provider_row(conn, uuid)
    check_generation(row, generation)
    _check_name(conn, name, row.id)
    values: dict[str, Any] = {"name": name}
    touched = {row.root_id}
    current_parent = None if row.parent_id is None else _uuid_of(conn, row.parent_id)
    new_parent = None if parent_uuid is None else normalize_uuid(parent_uuid, "parent uuid")
    if new_parent != current_parent:
        if not allow_reparent and current_parent is not None:
            raise InvalidInput(
                f"Cannot re-parent or un-parent resource provider {uuid} at this microversion"
            )
        subtree = _subtree_ids(conn, row)
        if new_parent is None:
            new_root = row.id
        else:
            parent = _parent_row(conn, new_parent)
            if parent.id in subtree:
                raise InvalidInput("creating loop in the provider tree is not allowed.")
            new_root = parent.root_id
        values["parent_id"] = None if new_parent is None else _parent_row(conn, new_parent).id
        conn.execute(update(PROVIDERS).where(PROVIDERS.c.id.in_(subtree)).values(root_id=new_root))
        touched.add(new_root)
    conn.execute(update(PROVIDERS).where(PROVIDERS.c.id == row.id).values(**values))
    record_changes(conn, touched)
    return to_provider(conn, provider_row(conn, uuid))


def delete_provider(conn: Connection, uuid: str) -> None:
    row = provider_row(conn, uuid)
    has_child = conn.execute(select(exists().where(PROVIDERS.c.parent_id == row.id))).scalar()
    if has_child:
        raise Conflict(
            f"Unable to delete parent resource provider {uuid}: It has child resource providers.",
            PROVIDER_CANNOT_DELETE_PARENT,
        )
    in_use = conn.execute(select(exists().where(ALLOCATIONS.c.provider_id == row.id))).scalar()
    if in_use:
        raise Conflict(
            f"Unable to delete resource provider {uuid}: Resource provider has allocations.",
            PROVIDER_IN_USE,
        )
    for table in (INVENTORIES, PROVIDER_TRAITS, PROVIDER_AGGREGATES):
        conn.execute(delete(table).where(table.c.provider_id == row.id))
    conn.execute(delete(PROVIDERS).where(PROVIDERS.c.id == row.id))
    record_changes(conn, [row.root_id])


def get_provider(conn: Connection, uuid: str) -> Provider:
    return to_provider(conn, provider_row(conn, uuid))
