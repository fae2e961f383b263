"""Read provider trees from the database into snapshot :class:`Tree` objects."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import Connection, Select, func, select

from virtfleet.placement.dbutil import (
    ALLOCATIONS,
    CHANGES,
    INVENTORIES,
    PROVIDER_AGGREGATES,
    PROVIDER_COLUMNS,
    PROVIDER_TRAITS,
    PROVIDERS,
)
from virtfleet.placement.snapshot import ProviderRow, Slot, TraitBits, Tree, build_tree, make_slot

_CHUNK = 500


def last_change_id(conn: Connection) -> int:
    value = conn.execute(select(func.max(CHANGES.c.id))).scalar()
    return int(value or 0)


def changed_roots(conn: Connection, after: int) -> tuple[int, set[int]]:
    """Root ids changed since change ``after``, and the newest change id."""
    rows = conn.execute(
        select(CHANGES.c.id, CHANGES.c.root_id).where(CHANGES.c.id > after).order_by(CHANGES.c.id)
    ).all()
    if not rows:
        return after, set()
    return int(rows[-1].id), {int(r.root_id) for r in rows}


def _chunks(ids: Collection[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def _restrict(query: Select[Any], root_ids: list[int] | None, join: bool) -> Select[Any]:
    if root_ids is None:
        return query
    if join:
        query = query.join(PROVIDERS, PROVIDERS.c.id == query.selected_columns[0])
    return query.where(PROVIDERS.c.root_id.in_(root_ids))


def _load_rows(conn: Connection, root_ids: list[int] | None) -> dict[int, ProviderRow]:
    providers = conn.execute(_restrict(select(*PROVIDER_COLUMNS), root_ids, False)).all()
    traits: dict[int, set[str]] = {}
    for pid, trait in conn.execute(
        _restrict(select(PROVIDER_TRAITS.c.provider_id, PROVIDER_TRAITS.c.trait), root_ids, True)
    ):
        traits.setdefault(pid, set()).add(trait)
    aggregates: dict[int, set[str]] = {}
    for pid, agg in conn.execute(
        _restrict(
            select(PROVIDER_AGGREGATES.c.provider_id, PROVIDER_AGGREGATES.c.aggregate_uuid),
            root_ids,
            True,
        )
    ):
        aggregates.setdefault(pid, set()).add(agg)
    used: dict[tuple[int, str], int] = {}
    usage_query = select(
        ALLOCATIONS.c.provider_id, ALLOCATIONS.c.resource_class, func.sum(ALLOCATIONS.c.used)
    )
    usage_query = _restrict(usage_query, root_ids, True).group_by(
        ALLOCATIONS.c.provider_id, ALLOCATIONS.c.resource_class
    )
    for usage in conn.execute(usage_query):
        used[(usage[0], usage[1])] = int(usage[2])
    slots: dict[int, dict[str, Slot]] = {}
    inv = INVENTORIES.c
    for row in conn.execute(
        _restrict(
            select(
                inv.provider_id,
                inv.resource_class,
                inv.total,
                inv.reserved,
                inv.min_unit,
                inv.max_unit,
                inv.step_size,
                inv.allocation_ratio,
            ),
            root_ids,
            True,
        )
    ):
        slots.setdefault(row.provider_id, {})[row.resource_class] = make_slot(
            row.total,
            row.reserved,
            row.min_unit,
            row.max_unit,
            row.step_size,
            row.allocation_ratio,
            used.get((row.provider_id, row.resource_class), 0),
        )
    return {
        p.id: ProviderRow(
            id=p.id,
            uuid=p.uuid,
            name=p.name,
            generation=p.generation,
            parent_id=p.parent_id,
            root_id=p.root_id,
            traits=frozenset(traits.get(p.id, ())),
            aggregates=frozenset(aggregates.get(p.id, ())),
            slots=slots.get(p.id, {}),
        )
        for p in providers
    }


def _group(rows: dict[int, ProviderRow], bits: TraitBits) -> dict[int, Tree | None]:
    by_root: dict[int, list[ProviderRow]] = {}
    for row in rows.values():
        by_root.setdefault(row.root_id, []).append(row)
    return {root_id: build_tree(members, bits) for root_id, members in by_root.items()}


def load_all(conn: Connection, bits: TraitBits) -> dict[int, Tree]:
    """Every tree in the database."""
    trees = _group(_load_rows(conn, None), bits)
    return {root_id: tree for root_id, tree in trees.items() if tree is not None}


def load_trees(
    conn: Connection, root_ids: Collection[int], bits: TraitBits
) -> dict[int, Tree | None]:
    """The named trees; a root id with no tree any more maps to None."""
    result: dict[int, Tree | None] = dict.fromkeys(root_ids)
    for chunk in _chunks(root_ids):
        result.update(_group(_load_rows(conn, chunk), bits))
    return result
