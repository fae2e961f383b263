"""The catalog of trait and resource class names (standard + CUSTOM_* rows)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, exists, insert, select, update

from virtfleet.placement import names
from virtfleet.placement.dbutil import (
    ALLOCATIONS,
    INVENTORIES,
    PROVIDER_TRAITS,
    PROVIDERS,
    RESOURCE_CLASSES,
    TRAITS,
    custom_resource_classes,
    custom_traits,
    record_changes,
)
from virtfleet.placement.exceptions import Conflict, InvalidInput, NotFound

_NAME_FILTER_HELP = (
    "Badly formatted name parameter. Expected name query string parameter in form: "
    "?name=[in|startswith]:[name1,name2|prefix]. Got: {value}"
)


def list_traits(conn: Connection, name_filter: str | None, associated: bool | None) -> list[str]:
    """Sorted trait names, filtered by ``startswith:P`` / ``in:A,B`` and association."""
    traits = set(names.STANDARD_TRAITS) | custom_traits(conn)
    if name_filter:
        kind, sep, value = name_filter.partition(":")
        if not sep or kind not in ("startswith", "in"):
            raise InvalidInput(_NAME_FILTER_HELP.format(value=name_filter))
        if kind == "startswith":
            traits = {t for t in traits if t.startswith(value)}
        else:
            wanted = {v.strip() for v in value.split(",") if v.strip()}
            traits &= wanted
    if associated is not None:
        used = set(conn.execute(select(PROVIDER_TRAITS.c.trait).distinct()).scalars())
        traits = traits & used if associated else traits - used
    return sorted(traits)


def ensure_trait(conn: Connection, name: str) -> bool:
    """Create custom trait ``name``; True when it was new."""
    if not names.is_custom(name):
        raise InvalidInput(
            f"The trait {name!r} is invalid: a trait created through the API must start "
            "with CUSTOM_ and use only A-Z, 0-9 and _ (at most 255 characters)"
        )
    names.validate_custom_name(name, "trait")
    if conn.execute(select(TRAITS.c.name).where(TRAITS.c.name == name)).first():
        return False
    conn.execute(insert(TRAITS).values(name=name))
    return True


def delete_trait(conn: Connection, name: str) -> None:
    if names.is_standard_trait(name):
        raise InvalidInput(f"Cannot delete standard trait {name}.")
    if not conn.execute(select(TRAITS.c.name).where(TRAITS.c.name == name)).first():
        raise NotFound(f"No such trait(s): {name}")
    if conn.execute(select(exists().where(PROVIDER_TRAITS.c.trait == name))).scalar():
        raise Conflict(f"The trait {name} is in use by a resource provider.")
    conn.execute(delete(TRAITS).where(TRAITS.c.name == name))


def list_resource_classes(conn: Connection) -> list[str]:
    """Standard classes in os-resource-classes order, then custom ones sorted."""
    return list(names.STANDARD_RESOURCE_CLASSES) + sorted(custom_resource_classes(conn))


def get_resource_class(conn: Connection, name: str) -> str:
    if names.is_standard_resource_class(name):
        return name
    if conn.execute(select(RESOURCE_CLASSES.c.name).where(RESOURCE_CLASSES.c.name == name)).first():
        return name
    raise NotFound(f"No such resource class {name}.")


def _check_custom(name: str) -> None:
    if not names.is_custom(name):
        raise InvalidInput(
            f"Invalid resource class name {name!r}: only CUSTOM_* classes may be created"
        )
    names.validate_custom_name(name, "resource class")


def create_resource_class(conn: Connection, name: str) -> None:
    _check_custom(name)
    if not ensure_resource_class(conn, name):
        raise Conflict(f"Conflicting resource class already exists: {name}")


def ensure_resource_class(conn: Connection, name: str) -> bool:
    """Create custom class ``name``; True when it was new."""
    _check_custom(name)
    if conn.execute(select(RESOURCE_CLASSES.c.name).where(RESOURCE_CLASSES.c.name == name)).first():
        return False
    conn.execute(insert(RESOURCE_CLASSES).values(name=name))
    return True


def delete_resource_class(conn: Connection, name: str) -> None:
    if names.is_standard_resource_class(name):
        raise InvalidInput(f"Cannot delete standard resource class {name}.")
    get_resource_class(conn, name)
    if conn.execute(select(exists().where(INVENTORIES.c.resource_class == name))).scalar():
        raise Conflict(f"Unable to delete resource class {name}. Class is in use in inventory.")
    conn.execute(delete(RESOURCE_CLASSES).where(RESOURCE_CLASSES.c.name == name))


def rename_resource_class(conn: Connection, name: str, new_name: str) -> None:
    """``PUT /resource_classes/{name}`` before 1.7: a custom class takes a new custom
    name, and the inventories and allocations of it follow (the trees that hold it
    are logged as changed)."""
    if names.is_standard_resource_class(name):
        raise InvalidInput(f"Cannot update standard resource class {name}")
    get_resource_class(conn, name)
    _check_custom(new_name)
    if new_name == name:
        return
    if (
        names.is_standard_resource_class(new_name)
        or conn.execute(
            select(RESOURCE_CLASSES.c.name).where(RESOURCE_CLASSES.c.name == new_name)
        ).first()
    ):
        raise Conflict(f"Resource class already exists: {new_name}")
    roots = conn.execute(
        select(PROVIDERS.c.root_id)
        .join(INVENTORIES, INVENTORIES.c.provider_id == PROVIDERS.c.id)
        .where(INVENTORIES.c.resource_class == name)
        .distinct()
    ).scalars()
    touched = list(roots)
    conn.execute(insert(RESOURCE_CLASSES).values(name=new_name))
    for table in (INVENTORIES, ALLOCATIONS):
        conn.execute(
            update(table).where(table.c.resource_class == name).values(resource_class=new_name)
        )
    conn.execute(delete(RESOURCE_CLASSES).where(RESOURCE_CLASSES.c.name == name))
    record_changes(conn, touched)
