"""Read provider trees from the database into snapshot :class:`Tree` objects."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import BindParameter, Connection, Select, bindparam, delete, func, select

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


def oldest_change_id(conn: Connection) -> int:
    value = conn.execute(select(func.min(CHANGES.c.id))).scalar()
    return int(value or 0)


def prune_changes(conn: Connection, keep: int) -> int:
    """Delete all but the newest ``keep`` change rows; returns how many went."""
    newest = last_change_id(conn)
    result = conn.execute(delete(CHANGES).where(CHANGES.c.id <= newest - keep))
    return int(result.rowcount or 0)


_CHANGES_AFTER = (
    select(CHANGES.c.id, CHANGES.c.root_id)
    .where(CHANGES.c.id > bindparam("after"))
    .order_by(CHANGES.c.id)
)
_CHANGES_AFTER_OR_IN = (
    select(CHANGES.c.id, CHANGES.c.root_id)
    .where(
        (CHANGES.c.id > bindparam("after")) | CHANGES.c.id.in_(bindparam("gaps", expanding=True))
    )
    .order_by(CHANGES.c.id)
)


def changed_roots(
    conn: Connection, after: int, gaps: Collection[int] = ()
) -> tuple[dict[int, int], set[int]]:
    """Changes past ``after`` (and any of the ``gaps`` ids now visible):
    {change id: root id} and the set of root ids."""
    if gaps:
        rows = conn.execute(_CHANGES_AFTER_OR_IN, {"after": after, "gaps": sorted(gaps)}).all()
    else:
        rows = conn.execute(_CHANGES_AFTER, {"after": after}).all()
    found = {int(r.id): int(r.root_id) for r in rows}
    return found, set(found.values())


def _chunks(ids: Collection[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


_ROOTS: BindParameter[Any] = bindparam("roots", expanding=True)
_INV = INVENTORIES.c


def _by_root(query: Select[Any], provider_id: Any) -> Select[Any]:
    """``query`` limited to providers of the trees in the ``roots`` parameter."""
    return query.join(PROVIDERS, PROVIDERS.c.id == provider_id).where(
        PROVIDERS.c.root_id.in_(_ROOTS)
    )


_PROVIDERS_ALL = select(*PROVIDER_COLUMNS)
_TRAITS_ALL = select(PROVIDER_TRAITS.c.provider_id, PROVIDER_TRAITS.c.trait)
_AGGREGATES_ALL = select(PROVIDER_AGGREGATES.c.provider_id, PROVIDER_AGGREGATES.c.aggregate_uuid)
_USAGES_ALL = select(
    ALLOCATIONS.c.provider_id, ALLOCATIONS.c.resource_class, func.sum(ALLOCATIONS.c.used)
).group_by(ALLOCATIONS.c.provider_id, ALLOCATIONS.c.resource_class)
_INVENTORIES_ALL = select(
    _INV.provider_id,
    _INV.resource_class,
    _INV.total,
    _INV.reserved,
    _INV.min_unit,
    _INV.max_unit,
    _INV.step_size,
    _INV.allocation_ratio,
)
_ALL = (_PROVIDERS_ALL, _TRAITS_ALL, _AGGREGATES_ALL, _USAGES_ALL, _INVENTORIES_ALL)
_SOME = (
    _PROVIDERS_ALL.where(PROVIDERS.c.root_id.in_(_ROOTS)),
    _by_root(_TRAITS_ALL, PROVIDER_TRAITS.c.provider_id),
    _by_root(_AGGREGATES_ALL, PROVIDER_AGGREGATES.c.provider_id),
    _by_root(_USAGES_ALL, ALLOCATIONS.c.provider_id),
    _by_root(_INVENTORIES_ALL, _INV.provider_id),
)


def _load_rows(conn: Connection, root_ids: list[int] | None) -> dict[int, ProviderRow]:
    statements = _ALL if root_ids is None else _SOME
    params = {} if root_ids is None else {"roots": root_ids}
    q_providers, q_traits, q_aggregates, q_usages, q_inventories = statements
    providers = conn.execute(q_providers, params).all()
    traits: dict[int, set[str]] = {}
    for pid, trait in conn.execute(q_traits, params):
        traits.setdefault(pid, set()).add(trait)
    aggregates: dict[int, set[str]] = {}
    for pid, agg in conn.execute(q_aggregates, params):
        aggregates.setdefault(pid, set()).add(agg)
    used: dict[tuple[int, str], int] = {}
    for usage in conn.execute(q_usages, params):
        used[(usage[0], usage[1])] = int(usage[2])
    slots: dict[int, dict[str, Slot]] = {}
    for row in conn.execute(q_inventories, params):
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
