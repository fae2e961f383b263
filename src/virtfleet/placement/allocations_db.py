"""Allocations: consumers replace their allocations atomically, checked against the
database inside the write transaction, so nothing is ever over-allocated.

Every provider whose allocations change gets its generation bumped with
``UPDATE ... WHERE id AND generation`` and every consumer's with the same guard; a
lost race raises :class:`~virtfleet.placement.exceptions.ConcurrentUpdate`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from virtfleet.placement.dbutil import (
    ALLOCATIONS,
    CONSUMERS,
    INVENTORIES,
    PROVIDERS,
    provider_row,
    record_changes,
    resource_class_exists,
)
from virtfleet.placement.exceptions import (
    ConcurrentUpdate,
    Conflict,
    InvalidInput,
    NotFound,
    ProviderRaced,
)
from virtfleet.placement.providers_db import normalize_uuid
from virtfleet.placement.types import (
    ConsumerAllocations,
    ConsumerOnProvider,
    ConsumerRequest,
    ProviderAllocation,
    ProviderAllocations,
    TypeUsage,
)

_CONSUMER_TYPE = re.compile(r"^[A-Z0-9_]+$")
MAX_AMOUNT = 2**31 - 1


def _validate_request(consumer: str, request: ConsumerRequest) -> None:
    for field in ("project_id", "user_id"):
        value = getattr(request, field)
        if not isinstance(value, str) or not value or len(value) > 255:
            raise InvalidInput(f"Invalid {field} for consumer {consumer}: {value!r}")
    ctype = request.consumer_type
    if ctype is not None and (not _CONSUMER_TYPE.match(ctype) or len(ctype) > 255):
        raise InvalidInput(
            f"Invalid consumer_type {ctype!r} for consumer {consumer}: "
            "must match ^[A-Z0-9_]+$ (at most 255 characters)"
        )
    for rp_uuid, resources in request.allocations.items():
        if not resources:
            raise InvalidInput(
                f"Allocation for resource provider {rp_uuid} of consumer {consumer} "
                "names no resources"
            )
        for rc, amount in resources.items():
            if isinstance(amount, bool) or not isinstance(amount, int):
                raise InvalidInput(f"Allocation amount of {rc} on {rp_uuid} must be an integer")
            if not 1 <= amount <= MAX_AMOUNT:
                raise InvalidInput(
                    f"Allocation amount of {rc} on {rp_uuid} must be in 1..{MAX_AMOUNT}, "
                    f"got {amount}"
                )


def _check_consumer_generation(consumer: str, row: Any, expected: int | None) -> None:
    if row is None and expected is not None:
        raise ConcurrentUpdate(
            f"consumer generation conflict - expected {expected} but got null: "
            f"consumer {consumer} has no allocations"
        )
    if row is not None and expected != row.generation:
        shown = "null" if expected is None else expected
        raise ConcurrentUpdate(
            f"consumer generation conflict - expected {shown} but got {row.generation} "
            f"for consumer {consumer}"
        )


class _Batch:
    """Providers touched by one transaction, their generations as first read, and
    the inventories read for the providers that gain allocations."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.providers: dict[int, Any] = {}
        self.inventories: dict[int, dict[str, Any]] = {}

    def provider_by_id(self, provider_id: int) -> Any:
        row = self.providers.get(provider_id)
        if row is None:
            row = self.conn.execute(
                select(
                    PROVIDERS.c.id, PROVIDERS.c.uuid, PROVIDERS.c.generation, PROVIDERS.c.root_id
                ).where(PROVIDERS.c.id == provider_id)
            ).one()
            self.providers[provider_id] = row
        return row

    def load_targets(self, uuids: list[str]) -> dict[str, Any]:
        """Provider rows by uuid for ``uuids`` (remembered with their inventories), in
        one query; InvalidInput names the first that does not exist."""
        rows: dict[str, Any] = {}
        for r in self.conn.execute(_TARGETS, {"uuids": uuids}):
            if r.uuid not in rows:
                rows[r.uuid] = self.providers.setdefault(r.id, r)
                self.inventories.setdefault(r.id, {})
            if r.resource_class is not None:
                self.inventories[r.id][r.resource_class] = r
        for uuid in uuids:
            if uuid not in rows:
                raise InvalidInput(
                    f"Allocation for resource provider '{uuid}' that does not exist."
                )
        return rows

    def finish(self) -> None:
        for row in self.providers.values():
            bumped = self.conn.execute(
                _BUMP,
                {"b_id": row.id, "b_generation": row.generation, "b_next": row.generation + 1},
            )
            if bumped.rowcount != 1:
                raise ProviderRaced(
                    "resource provider generation conflict: another process updated the "
                    "provider; re-read it and retry"
                )
        record_changes(self.conn, (row.root_id for row in self.providers.values()))


#: ``bump_generation`` as one prepared statement (no statement built per claim).
_BUMP = (
    update(PROVIDERS)
    .where(PROVIDERS.c.id == bindparam("b_id"), PROVIDERS.c.generation == bindparam("b_generation"))
    .values(generation=bindparam("b_next"))
)
_INSERT_CONSUMER = insert(CONSUMERS)


#: Providers by uuid with their inventories, one row per (provider, class).
_TARGETS = (
    select(
        PROVIDERS.c.id,
        PROVIDERS.c.uuid,
        PROVIDERS.c.generation,
        PROVIDERS.c.root_id,
        INVENTORIES.c.resource_class,
        INVENTORIES.c.total,
        INVENTORIES.c.reserved,
        INVENTORIES.c.min_unit,
        INVENTORIES.c.max_unit,
        INVENTORIES.c.step_size,
        INVENTORIES.c.allocation_ratio,
    )
    .select_from(PROVIDERS.outerjoin(INVENTORIES, INVENTORIES.c.provider_id == PROVIDERS.c.id))
    .where(PROVIDERS.c.uuid.in_(bindparam("uuids", expanding=True)))
)
_CONSUMER = select(CONSUMERS).where(CONSUMERS.c.uuid == bindparam("uuid"))
_OLD_PROVIDERS = (
    select(ALLOCATIONS.c.provider_id)
    .where(ALLOCATIONS.c.consumer_uuid == bindparam("uuid"))
    .distinct()
)
_USED = (
    select(ALLOCATIONS.c.provider_id, ALLOCATIONS.c.resource_class, func.sum(ALLOCATIONS.c.used))
    .where(ALLOCATIONS.c.provider_id.in_(bindparam("ids", expanding=True)))
    .group_by(ALLOCATIONS.c.provider_id, ALLOCATIONS.c.resource_class)
)


def _write_consumer(
    conn: Connection, batch: _Batch, consumer: str, request: ConsumerRequest
) -> list[tuple[int, str]]:
    """Replace one consumer's rows; returns the (provider id, class) pairs it now uses."""
    _validate_request(consumer, request)
    row = conn.execute(_CONSUMER, {"uuid": consumer}).first()
    _check_consumer_generation(consumer, row, request.consumer_generation)
    if row is not None:  # a new consumer has no rows yet (allocations reference it)
        for (old_provider,) in conn.execute(_OLD_PROVIDERS, {"uuid": consumer}).all():
            batch.provider_by_id(old_provider)
        conn.execute(delete(ALLOCATIONS).where(ALLOCATIONS.c.consumer_uuid == consumer))
    if not request.allocations:
        if row is not None:
            conn.execute(delete(CONSUMERS).where(CONSUMERS.c.uuid == consumer))
        return []
    values = {
        "project_id": request.project_id,
        "user_id": request.user_id,
    }
    if request.consumer_type is not None:
        values["consumer_type"] = request.consumer_type
    if row is None:
        conn.execute(_INSERT_CONSUMER, {"uuid": consumer, "generation": 1, **values})
    else:
        done = conn.execute(
            update(CONSUMERS)
            .where(CONSUMERS.c.uuid == consumer, CONSUMERS.c.generation == row.generation)
            .values(generation=row.generation + 1, **values)
        )
        if done.rowcount != 1:
            raise ConcurrentUpdate(f"consumer {consumer} was changed concurrently; retry")
    wanted = [
        (normalize_uuid(rp_uuid, "resource provider uuid"), resources)
        for rp_uuid, resources in request.allocations.items()
    ]
    targets = batch.load_targets([rp_uuid for rp_uuid, _ in wanted])
    used: list[tuple[int, str]] = []
    new_rows = []
    for rp_uuid, resources in wanted:
        provider = targets[rp_uuid]
        inventories = batch.inventories[provider.id]
        for rc, amount in resources.items():
            inv = inventories.get(rc)
            if inv is None:
                if not resource_class_exists(conn, rc):  # a 400, as in Placement
                    raise InvalidInput(
                        f"Unable to allocate inventory for consumer {consumer}: No such "
                        f"resource class {rc}."
                    )
                raise Conflict(  # an existing class the provider has none of: 409
                    f"Unable to allocate inventory: Inventory for '{rc}' on resource "
                    f"provider '{provider.uuid}' invalid."
                )
            if not (inv.min_unit <= amount <= inv.max_unit and amount % inv.step_size == 0):
                raise Conflict(
                    f"Unable to allocate inventory: Unable to create allocation for '{rc}' on "
                    f"resource provider '{provider.uuid}'. The requested amount ({amount}) "
                    f"would violate inventory constraints: min_unit ({inv.min_unit}), "
                    f"max_unit ({inv.max_unit}), step_size ({inv.step_size})."
                )
            used.append((provider.id, rc))
            new_rows.append(
                {
                    "consumer_uuid": consumer,
                    "provider_id": provider.id,
                    "resource_class": rc,
                    "used": amount,
                }
            )
    conn.execute(insert(ALLOCATIONS), new_rows)
    return used


def _check_capacity(conn: Connection, batch: _Batch, pairs: set[tuple[int, str]]) -> None:
    """Every (provider, class) that gained allocations is still within capacity,
    summed in the database inside the write transaction."""
    if not pairs:
        return
    totals = {
        (r[0], r[1]): int(r[2])
        for r in conn.execute(_USED, {"ids": sorted({pid for pid, _ in pairs})})
    }
    for pid, rc in sorted(pairs):
        inv = batch.inventories[pid][rc]
        capacity = int((inv.total - inv.reserved) * inv.allocation_ratio)
        if totals.get((pid, rc), 0) > capacity:
            rp_uuid = batch.provider_by_id(pid).uuid
            raise Conflict(
                f"Unable to allocate inventory: Unable to create allocation for '{rc}' on "
                f"resource provider '{rp_uuid}'. The requested amount would exceed the "
                "capacity."
            )


def replace_consumers(conn: Connection, requests: Mapping[str, ConsumerRequest]) -> None:
    """Replace the allocations of every consumer in ``requests`` (one transaction)."""
    batch = _Batch(conn)
    pairs: set[tuple[int, str]] = set()
    for consumer, request in requests.items():
        pairs.update(
            _write_consumer(conn, batch, normalize_uuid(consumer, "consumer uuid"), request)
        )
    _check_capacity(conn, batch, pairs)
    batch.finish()


def delete_consumer(conn: Connection, consumer: str) -> None:
    consumer = normalize_uuid(consumer, "consumer uuid")
    row = conn.execute(select(CONSUMERS).where(CONSUMERS.c.uuid == consumer)).first()
    if row is None:
        raise NotFound(f"No allocations for consumer '{consumer}'")
    batch = _Batch(conn)
    for (pid,) in conn.execute(
        select(ALLOCATIONS.c.provider_id).where(ALLOCATIONS.c.consumer_uuid == consumer).distinct()
    ).all():
        batch.provider_by_id(pid)
    conn.execute(delete(ALLOCATIONS).where(ALLOCATIONS.c.consumer_uuid == consumer))
    conn.execute(delete(CONSUMERS).where(CONSUMERS.c.uuid == consumer))
    batch.finish()


def get_consumer(conn: Connection, consumer: str) -> ConsumerAllocations:
    consumer = normalize_uuid(consumer, "consumer uuid")
    row = conn.execute(select(CONSUMERS).where(CONSUMERS.c.uuid == consumer)).first()
    if row is None:
        return ConsumerAllocations(consumer, {}, None, None, None, None)
    resources: dict[str, dict[str, int]] = {}
    generations: dict[str, int] = {}
    for r in conn.execute(
        select(
            PROVIDERS.c.uuid,
            PROVIDERS.c.generation,
            ALLOCATIONS.c.resource_class,
            ALLOCATIONS.c.used,
        )
        .join(PROVIDERS, PROVIDERS.c.id == ALLOCATIONS.c.provider_id)
        .where(ALLOCATIONS.c.consumer_uuid == consumer)
    ):
        resources.setdefault(r.uuid, {})[r.resource_class] = r.used
        generations[r.uuid] = r.generation
    allocations = {
        uuid: ProviderAllocation(res, generations[uuid]) for uuid, res in resources.items()
    }
    return ConsumerAllocations(
        consumer, allocations, row.project_id, row.user_id, row.generation, row.consumer_type
    )


def get_provider_allocations(conn: Connection, rp_uuid: str) -> ProviderAllocations:
    provider = provider_row(conn, rp_uuid)
    resources: dict[str, dict[str, int]] = {}
    generations: dict[str, int] = {}
    for r in conn.execute(
        select(
            ALLOCATIONS.c.consumer_uuid,
            ALLOCATIONS.c.resource_class,
            ALLOCATIONS.c.used,
            CONSUMERS.c.generation,
        )
        .join(CONSUMERS, CONSUMERS.c.uuid == ALLOCATIONS.c.consumer_uuid)
        .where(ALLOCATIONS.c.provider_id == provider.id)
    ):
        resources.setdefault(r.consumer_uuid, {})[r.resource_class] = r.used
        generations[r.consumer_uuid] = r.generation
    return ProviderAllocations(
        provider.generation,
        {c: ConsumerOnProvider(res, generations[c]) for c, res in resources.items()},
    )


def provider_usages(conn: Connection, uuid: str) -> tuple[int, dict[str, int]]:
    """Usage of every inventoried class (0 when unused)."""
    provider = provider_row(conn, uuid)
    usage = {
        rc: 0
        for rc in conn.execute(
            select(INVENTORIES.c.resource_class).where(INVENTORIES.c.provider_id == provider.id)
        ).scalars()
    }
    for r in conn.execute(
        select(ALLOCATIONS.c.resource_class, func.sum(ALLOCATIONS.c.used))
        .where(ALLOCATIONS.c.provider_id == provider.id)
        .group_by(ALLOCATIONS.c.resource_class)
    ):
        usage[r[0]] = int(r[1])
    return provider.generation, usage


def usages_by_type(
    conn: Connection, project_id: str, user_id: str | None, consumer_type: str | None
) -> dict[str, TypeUsage]:
    """``GET /usages`` 1.38+: per consumer type ('unknown' for untyped consumers);
    ``consumer_type='all'`` groups everything under 'all'."""
    query = (
        select(
            CONSUMERS.c.uuid,
            CONSUMERS.c.consumer_type,
            ALLOCATIONS.c.resource_class,
            ALLOCATIONS.c.used,
        )
        .join(ALLOCATIONS, ALLOCATIONS.c.consumer_uuid == CONSUMERS.c.uuid)
        .where(CONSUMERS.c.project_id == project_id)
    )
    if user_id is not None:
        query = query.where(CONSUMERS.c.user_id == user_id)
    if consumer_type == "unknown":
        query = query.where(CONSUMERS.c.consumer_type.is_(None))
    elif consumer_type not in (None, "all"):
        query = query.where(CONSUMERS.c.consumer_type == consumer_type)
    consumers: dict[str, set[str]] = {}
    resources: dict[str, dict[str, int]] = {}
    for r in conn.execute(query):
        key = "all" if consumer_type == "all" else (r.consumer_type or "unknown")
        consumers.setdefault(key, set()).add(r.uuid)
        bucket = resources.setdefault(key, {})
        bucket[r.resource_class] = bucket.get(r.resource_class, 0) + r.used
    return {key: TypeUsage(len(consumers[key]), resources[key]) for key in consumers}


def total_usages(conn: Connection, project_id: str, user_id: str | None) -> dict[str, int]:
    """``GET /usages`` before 1.38: {class: amount} over the project (and user)."""
    total: dict[str, int] = {}
    for usage in usages_by_type(conn, project_id, user_id, "all").values():
        for rc, amount in usage.resources.items():
            total[rc] = total.get(rc, 0) + amount
    return total
