"""Per-provider data guarded by the provider generation: inventories, traits,
aggregates. Every change bumps the generation and logs the tree as changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from virtfleet.placement import names
from virtfleet.placement.dbutil import (
    ALLOCATIONS,
    INVENTORIES,
    PROVIDER_AGGREGATES,
    PROVIDER_TRAITS,
    bump_generation,
    check_generation,
    custom_traits,
    provider_row,
    record_changes,
    resource_class_exists,
)
from virtfleet.placement.exceptions import (
    INVENTORY_INUSE,
    RESOURCE_PROVIDER_NOT_FOUND,
    ConcurrentUpdate,
    Conflict,
    InvalidInput,
    NotFound,
)
from virtfleet.placement.providers_db import normalize_uuid
from virtfleet.placement.types import Inventory

MAX_INT = 2**31 - 1


def _read_inventories(conn: Connection, provider_id: int) -> dict[str, Inventory]:
    inv = INVENTORIES.c
    rows = conn.execute(select(INVENTORIES).where(inv.provider_id == provider_id)).all()
    return {
        r.resource_class: Inventory(
            total=r.total,
            reserved=r.reserved,
            min_unit=r.min_unit,
            max_unit=r.max_unit,
            step_size=r.step_size,
            allocation_ratio=r.allocation_ratio,
        )
        for r in rows
    }


def get_inventories(conn: Connection, uuid: str) -> tuple[int, dict[str, Inventory]]:
    row = provider_row(conn, uuid)
    return row.generation, _read_inventories(conn, row.id)


def validate_inventory(uuid: str, rc: str, inv: Inventory) -> None:
    """Values within Placement's bounds and consistent with each other."""
    where = f"inventory of {rc} on resource provider {uuid}"
    for field in ("total", "max_unit", "min_unit", "step_size"):
        value = getattr(inv, field)
        if not isinstance(value, int) or not 1 <= value <= MAX_INT:
            raise InvalidInput(f"Invalid {where}: {field} must be an integer in 1..{MAX_INT}")
    if not isinstance(inv.reserved, int) or not 0 <= inv.reserved <= MAX_INT:
        raise InvalidInput(f"Invalid {where}: reserved must be an integer in 0..{MAX_INT}")
    if not inv.allocation_ratio > 0:
        raise InvalidInput(f"Invalid {where}: allocation_ratio must be greater than 0")
    if inv.reserved > inv.total:
        raise InvalidInput(f"Invalid {where}: the reserved value is greater than total")
    if inv.min_unit > inv.max_unit:
        raise InvalidInput(f"Invalid {where}: min_unit is greater than max_unit")


def _usage_by_rc(conn: Connection, provider_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(ALLOCATIONS.c.resource_class, func.sum(ALLOCATIONS.c.used))
        .where(ALLOCATIONS.c.provider_id == provider_id)
        .group_by(ALLOCATIONS.c.resource_class)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def _replace(conn: Connection, row: Any, inventories: Mapping[str, Inventory]) -> int:
    """The provider's whole inventory becomes ``inventories``.

    As in Placement, a class in use may not be removed (409 ``placement.inventory.inuse``),
    but its capacity may drop below what is allocated: the allocations stay, and nothing
    more fits until usage falls below the new capacity.
    """
    for rc, inv in inventories.items():
        if not resource_class_exists(conn, rc):
            raise InvalidInput(
                f"Unknown resource class in inventory for resource provider {row.uuid}: {rc}"
            )
        validate_inventory(row.uuid, rc, inv)
    for rc, used in _usage_by_rc(conn, row.id).items():
        if used > 0 and rc not in inventories:
            raise Conflict(
                f"Inventory for {rc} on resource provider {row.uuid} in use: "
                f"{used} allocated, cannot remove it.",
                INVENTORY_INUSE,
            )
    conn.execute(delete(INVENTORIES).where(INVENTORIES.c.provider_id == row.id))
    if inventories:
        conn.execute(
            insert(INVENTORIES),
            [
                {"provider_id": row.id, "resource_class": rc, **inv.as_dict()}
                for rc, inv in inventories.items()
            ],
        )
    new_generation = bump_generation(conn, row.id, row.generation)
    record_changes(conn, [row.root_id])
    return new_generation


def reshape(
    conn: Connection,
    inventories: Mapping[str, tuple[int, Mapping[str, Inventory]]],
    move_allocations: Callable[[Connection], None],
) -> None:
    """``POST /reshaper``: each provider's inventory becomes the given one and the
    allocations are moved by ``move_allocations``, all in this transaction.

    Every provider's generation must match first (a 409 otherwise). The classes a
    provider loses are kept until the allocations have moved (they may not be removed
    while in use, and allocations need inventory to land on), then removed.
    """
    for uuid, (generation, _wanted) in inventories.items():
        try:
            row = provider_row(conn, uuid)
        except NotFound:
            raise InvalidInput(
                f"Resource provider {uuid} in inventories not found",
                RESOURCE_PROVIDER_NOT_FOUND,
            ) from None
        if row.generation != generation:
            raise ConcurrentUpdate(
                f"resource provider generation conflict for provider {uuid}: "
                f"actual: {row.generation}, given: {generation}"
            )
    for uuid, (_generation, wanted) in inventories.items():
        row = provider_row(conn, uuid)
        _replace(conn, row, {**_read_inventories(conn, row.id), **wanted})
    move_allocations(conn)
    for uuid, (_generation, wanted) in inventories.items():
        _replace(conn, provider_row(conn, uuid), wanted)


def set_inventories(
    conn: Connection, uuid: str, generation: int, inventories: Mapping[str, Inventory]
) -> int:
    row = provider_row(conn, uuid)
    check_generation(row, generation)
    return _replace(conn, row, inventories)


def set_inventory(
    conn: Connection, uuid: str, generation: int | None, rc: str, inventory: Inventory
) -> int:
    row = provider_row(conn, uuid)
    check_generation(row, generation)
    current = _read_inventories(conn, row.id)
    current[rc] = inventory
    return _replace(conn, row, current)


def delete_inventory(conn: Connection, uuid: str, generation: int | None, rc: str) -> int:
    row = provider_row(conn, uuid)
    check_generation(row, generation)
    current = _read_inventories(conn, row.id)
    if rc not in current:
        raise NotFound(f"No inventory of class {rc} found for resource provider {uuid}")
    del current[rc]
    return _replace(conn, row, current)


def delete_inventories(conn: Connection, uuid: str, generation: int | None) -> int:
    row = provider_row(conn, uuid)
    check_generation(row, generation)
    return _replace(conn, row, {})


def get_provider_traits(conn: Connection, uuid: str) -> tuple[int, set[str]]:
    row = provider_row(conn, uuid)
    traits = conn.execute(
        select(PROVIDER_TRAITS.c.trait).where(PROVIDER_TRAITS.c.provider_id == row.id)
    ).scalars()
    return row.generation, set(traits)


def set_provider_traits(
    conn: Connection, uuid: str, generation: int | None, traits: Iterable[str]
) -> int:
    row = provider_row(conn, uuid)
    check_generation(row, generation)
    wanted = set(traits)
    known = custom_traits(conn)
    unknown = sorted(t for t in wanted if t not in known and not names.is_standard_trait(t))
    if unknown:
        raise InvalidInput(f"No such trait(s): {', '.join(unknown)}")
    conn.execute(delete(PROVIDER_TRAITS).where(PROVIDER_TRAITS.c.provider_id == row.id))
    if wanted:
        conn.execute(
            insert(PROVIDER_TRAITS),
            [{"provider_id": row.id, "trait": t} for t in sorted(wanted)],
        )
    new_generation = bump_generation(conn, row.id, row.generation)
    record_changes(conn, [row.root_id])
    return new_generation


def get_provider_aggregates(conn: Connection, uuid: str) -> tuple[int, set[str]]:
    row = provider_row(conn, uuid)
    aggs = conn.execute(
        select(PROVIDER_AGGREGATES.c.aggregate_uuid).where(
            PROVIDER_AGGREGATES.c.provider_id == row.id
        )
    ).scalars()
    return row.generation, set(aggs)


def set_provider_aggregates(
    conn: Connection, uuid: str, generation: int | None, aggregates: Iterable[str]
) -> int:
    row = provider_row(conn, uuid)
    check_generation(row, generation)
    wanted = {normalize_uuid(a, "aggregate uuid") for a in aggregates}
    conn.execute(delete(PROVIDER_AGGREGATES).where(PROVIDER_AGGREGATES.c.provider_id == row.id))
    if wanted:
        conn.execute(
            insert(PROVIDER_AGGREGATES),
            [{"provider_id": row.id, "aggregate_uuid": a} for a in sorted(wanted)],
        )
    new_generation = bump_generation(conn, row.id, row.generation)
    record_changes(conn, [row.root_id])
    return new_generation
