"""Host aggregate repository: aggregates (name, uuid, metadata) and their hosts.

The availability zone of an aggregate is its ``availability_zone`` metadata key, as
in Nova. Placement mirroring (each host's provider a member of the placement
aggregate of the same uuid) is :mod:`virtfleet.scheduler.aggregates`' job.

Every write here also bumps the ``aggregates`` row of ``cache_generations`` in the same
transaction, so a server that cached the aggregates (the scheduler, per decision) sees
any change committed by any server by reading that one row (:func:`generation`)."""

from __future__ import annotations

import dataclasses
import datetime
import uuid as uuidlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import utcnow
from virtfleet.db.models.scheduling import Aggregate as AggregateRow
from virtfleet.db.models.scheduling import AggregateHost, CacheGeneration

AGGREGATES: Table = AggregateRow.__table__  # type: ignore[assignment]  # declarative: a Table
HOSTS: Table = AggregateHost.__table__  # type: ignore[assignment]  # declarative: a Table
GENERATIONS: Table = CacheGeneration.__table__  # type: ignore[assignment]  # declarative: a Table

#: The ``cache_generations`` row bumped by every aggregate write.
GENERATION_NAME = "aggregates"

ZONE_KEY = "availability_zone"


@dataclasses.dataclass(frozen=True)
class Aggregate:
    id: int
    uuid: str
    name: str
    metadata: Mapping[str, str]
    hosts: tuple[str, ...]
    created_at: datetime.datetime
    updated_at: datetime.datetime | None

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get(ZONE_KEY)


def _not_found(aggregate_id: object) -> errors.NotFound:
    return errors.NotFound(f"Aggregate {aggregate_id} could not be found.")


def _record(conn: Connection, row: Any) -> Aggregate:
    hosts = conn.execute(
        select(HOSTS.c.host).where(HOSTS.c.aggregate_id == row.id).order_by(HOSTS.c.host)
    )
    return Aggregate(
        id=row.id,
        uuid=row.uuid,
        name=row.name,
        metadata=dict(row.metadata or {}),
        hosts=tuple(h[0] for h in hosts),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _bump(conn: Connection) -> None:
    """Count one more change of the aggregates (inside the write's transaction; writers
    take turns, so the insert of the first bump races no other)."""
    done = conn.execute(
        update(GENERATIONS)
        .where(GENERATIONS.c.name == GENERATION_NAME)
        .values(generation=GENERATIONS.c.generation + 1)
    )
    if done.rowcount == 0:
        conn.execute(insert(GENERATIONS).values(name=GENERATION_NAME, generation=1))


#: The generation, read with a plain DB-API cursor: this runs before every scheduling
#: decision, and a Core select costs several times the query itself.
_GENERATION_SQL = "SELECT generation FROM cache_generations WHERE name = 'aggregates'"
assert CacheGeneration.__tablename__ == "cache_generations"
assert GENERATION_NAME == "aggregates"


def generation(conn: Connection) -> int:
    """How many aggregate writes were committed (as the transaction sees it); 0 before
    the first."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open in the transaction
    try:
        cursor.execute(_GENERATION_SQL)
        found = cursor.fetchone()
    finally:
        cursor.close()
    return int(found[0]) if found else 0


def _duplicate(name: str) -> errors.Conflict:
    return errors.Conflict(f"Aggregate {name} already exists.")


def create(db: Database, name: str, metadata: Mapping[str, str]) -> Aggregate:
    """A new aggregate; Conflict when the name is taken."""
    try:
        with db.write() as conn:
            conn.execute(
                insert(AGGREGATES).values(
                    uuid=str(uuidlib.uuid4()),
                    name=name,
                    metadata=dict(metadata),
                    created_at=utcnow(),
                )
            )
            _bump(conn)
            row = conn.execute(select(AGGREGATES).where(AGGREGATES.c.name == name)).one()
            return _record(conn, row)
    except IntegrityError:
        raise _duplicate(name) from None


def get(db: Database, aggregate_id: int) -> Aggregate:
    with db.read() as conn:
        row = conn.execute(select(AGGREGATES).where(AGGREGATES.c.id == aggregate_id)).one_or_none()
        if row is None:
            raise _not_found(aggregate_id)
        return _record(conn, row)


def list_all(db: Database) -> list[Aggregate]:
    with db.read() as conn:
        return list_in(conn)


def list_in(conn: Connection) -> list[Aggregate]:
    """Every aggregate with its hosts, by id, in two queries on ``conn``."""
    rows = conn.execute(select(AGGREGATES).order_by(AGGREGATES.c.id)).all()
    members: dict[int, list[str]] = {}
    for aggregate_id, host in conn.execute(
        select(HOSTS.c.aggregate_id, HOSTS.c.host).order_by(HOSTS.c.host)
    ):
        members.setdefault(aggregate_id, []).append(host)
    return [
        Aggregate(
            id=row.id,
            uuid=row.uuid,
            name=row.name,
            metadata=dict(row.metadata or {}),
            hosts=tuple(members.get(row.id, ())),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


def update_fields(
    db: Database, aggregate_id: int, *, name: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Aggregate:  # fmt: skip
    """Rename and/or replace the metadata; Conflict for a taken name."""
    values: dict[str, object] = {"updated_at": utcnow()}
    if name is not None:
        values["name"] = name
    if metadata is not None:
        values["metadata"] = dict(metadata)
    try:
        with db.write() as conn:
            done = conn.execute(
                update(AGGREGATES).where(AGGREGATES.c.id == aggregate_id).values(**values)
            )
            if done.rowcount == 0:
                raise _not_found(aggregate_id)
            _bump(conn)
    except IntegrityError:
        raise _duplicate(str(name)) from None
    return get(db, aggregate_id)


def delete_aggregate(db: Database, aggregate_id: int) -> None:
    with db.write() as conn:
        done = conn.execute(delete(AGGREGATES).where(AGGREGATES.c.id == aggregate_id))
        if done.rowcount == 0:
            raise _not_found(aggregate_id)
        _bump(conn)


def add_host(db: Database, aggregate_id: int, host: str) -> None:
    """Conflict when the host is already a member."""
    try:
        with db.write() as conn:
            conn.execute(insert(HOSTS).values(aggregate_id=aggregate_id, host=host))
            _bump(conn)
    except IntegrityError:
        raise errors.Conflict(
            f"Cannot add host {host} to aggregate {aggregate_id}: it is already a member."
        ) from None


def remove_host(db: Database, aggregate_id: int, host: str) -> None:
    """NotFound when the host is not a member."""
    with db.write() as conn:
        done = conn.execute(
            delete(HOSTS).where(HOSTS.c.aggregate_id == aggregate_id, HOSTS.c.host == host)
        )
        if done.rowcount == 0:
            raise errors.NotFound(
                f"Cannot remove host {host} from aggregate {aggregate_id}: it is not a member."
            )
        _bump(conn)
