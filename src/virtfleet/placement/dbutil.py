"""Table handles and the small database steps every placement write shares."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from virtfleet.db.models import placement as models
from virtfleet.placement import names
from virtfleet.placement.exceptions import ConcurrentUpdate, provider_not_found


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


PROVIDERS = _table(models.ResourceProvider)
INVENTORIES = _table(models.Inventory)
TRAITS = _table(models.CustomTrait)
RESOURCE_CLASSES = _table(models.CustomResourceClass)
PROVIDER_TRAITS = _table(models.ProviderTrait)
PROVIDER_AGGREGATES = _table(models.ProviderAggregate)
CONSUMERS = _table(models.Consumer)
ALLOCATIONS = _table(models.Allocation)
CHANGES = _table(models.Change)

PROVIDER_COLUMNS = (
    PROVIDERS.c.id,
    PROVIDERS.c.uuid,
    PROVIDERS.c.name,
    PROVIDERS.c.generation,
    PROVIDERS.c.parent_id,
    PROVIDERS.c.root_id,
)


def provider_row(conn: Connection, uuid: str) -> Any:
    """The provider's row, or NotFound with Placement's code."""
    row = conn.execute(select(*PROVIDER_COLUMNS).where(PROVIDERS.c.uuid == uuid)).first()
    if row is None:
        raise provider_not_found(uuid)
    return row


def check_generation(row: Any, generation: int | None) -> None:
    """The caller's view of the provider must be current."""
    if generation is not None and generation != row.generation:
        raise ConcurrentUpdate(
            f"resource provider generation conflict: provider {row.uuid} is at "
            f"generation {row.generation}, the request expected {generation}"
        )


def bump_generation(conn: Connection, provider_id: int, generation: int) -> int:
    """``UPDATE ... WHERE id AND generation``; no row matched -> ConcurrentUpdate."""
    result = conn.execute(
        update(PROVIDERS)
        .where(PROVIDERS.c.id == provider_id, PROVIDERS.c.generation == generation)
        .values(generation=generation + 1)
    )
    if result.rowcount != 1:
        raise ConcurrentUpdate(
            "resource provider generation conflict: another process updated the provider; "
            "re-read it and retry"
        )
    return generation + 1


def record_changes(conn: Connection, root_ids: Iterable[int]) -> None:
    """Append one change row per touched tree (read by every process's refresh)."""
    rows = [{"root_id": root_id} for root_id in sorted(set(root_ids))]
    if rows:
        conn.execute(insert(CHANGES), rows)


def custom_traits(conn: Connection) -> set[str]:
    return set(conn.execute(select(TRAITS.c.name)).scalars())


def custom_resource_classes(conn: Connection) -> set[str]:
    return set(conn.execute(select(RESOURCE_CLASSES.c.name)).scalars())


def resource_class_exists(conn: Connection, name: str) -> bool:
    if names.is_standard_resource_class(name):
        return True
    found = conn.execute(
        select(RESOURCE_CLASSES.c.name).where(RESOURCE_CLASSES.c.name == name)
    ).first()
    return found is not None
