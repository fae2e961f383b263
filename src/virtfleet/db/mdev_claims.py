"""Repository of mdev claims: destination mediated devices held by live migrations.

A claim is taken by the conductor after the destination agent proposed its mapping
(source mdev -> destination mdev). The table's unique (host, mdev_uuid) makes a claim
atomic: of two migrations racing for the last free mdev one wins, the other gets
:class:`~virtfleet.errors.Conflict`. Claims outlive agent restarts; they go when the
migration ends (:func:`release`) or when :func:`reap` finds them stale.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Mapping

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.mdev_claims import MdevClaim as ClaimRow

#: claimed: held for a migration being prepared; migrating: the migration runs with it.
CLAIM_STATES = ("claimed", "migrating")


@dataclasses.dataclass(frozen=True)
class MdevClaim:
    """One destination mdev held for one migration."""

    mdev_uuid: str
    host: str
    instance_uuid: str
    migration_uuid: str
    source_mdev_uuid: str
    mdev_type: str
    state: str
    created_at: datetime.datetime


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _record(row: ClaimRow) -> MdevClaim:
    return MdevClaim(
        mdev_uuid=row.mdev_uuid,
        host=row.host,
        instance_uuid=row.instance_uuid,
        migration_uuid=row.migration_uuid,
        source_mdev_uuid=row.source_mdev_uuid,
        mdev_type=row.mdev_type,
        state=row.state,
        created_at=_utc(row.created_at),
    )


def claim(
    db: Database,
    host: str,
    instance_uuid: str,
    migration_uuid: str,
    target_mdevs: Mapping[str, str],
    source_mdev_types: Mapping[str, str],
) -> list[MdevClaim]:
    """Hold every destination mdev of ``target_mdevs`` (source -> destination) on
    ``host``, all or none. Conflict names the first mdev already held by another
    migration; claiming again for the same migration is a no-op for its rows."""
    if len(set(target_mdevs.values())) != len(target_mdevs):
        raise errors.InvalidInput(f"migration {migration_uuid}: one mdev claimed twice")
    now = _now()
    try:
        with db.session() as session:
            held = {
                row.mdev_uuid: row
                for row in session.scalars(
                    select(ClaimRow).where(
                        ClaimRow.host == host, ClaimRow.mdev_uuid.in_(list(target_mdevs.values()))
                    )
                )
            }
            for source, target in sorted(target_mdevs.items()):
                other = held.get(target)
                if other is not None and other.migration_uuid != migration_uuid:
                    raise errors.Conflict(
                        f"mdev {target} on {host} is already claimed by migration "
                        f"{other.migration_uuid} of instance {other.instance_uuid}"
                    )
                if other is None:
                    session.add(
                        ClaimRow(
                            mdev_uuid=target,
                            host=host,
                            instance_uuid=instance_uuid,
                            migration_uuid=migration_uuid,
                            source_mdev_uuid=source,
                            mdev_type=source_mdev_types.get(source, ""),
                            state="claimed",
                            created_at=now,
                            updated_at=now,
                        )
                    )
    except IntegrityError as exc:  # a concurrent claim committed first
        raise errors.Conflict(
            f"migration {migration_uuid}: an mdev on {host} was claimed concurrently"
        ) from exc
    return for_migration(db, migration_uuid)


def for_migration(db: Database, migration_uuid: str) -> list[MdevClaim]:
    """The claims of one migration, by mdev uuid."""
    with db.read_session() as session:
        rows = session.scalars(
            select(ClaimRow)
            .where(ClaimRow.migration_uuid == migration_uuid)
            .order_by(ClaimRow.mdev_uuid)
        )
        return [_record(row) for row in rows]


def list_claims(db: Database, host: str | None = None) -> list[MdevClaim]:
    """Every claim (of ``host`` when given), oldest first."""
    query = select(ClaimRow).order_by(ClaimRow.created_at, ClaimRow.id)
    if host is not None:
        query = query.where(ClaimRow.host == host)
    with db.read_session() as session:
        return [_record(row) for row in session.scalars(query)]


def claimed_uuids(db: Database, host: str) -> set[str]:
    """The mdev uuids of ``host`` that no spawn or other migration may take."""
    return {c.mdev_uuid for c in list_claims(db, host)}


def set_state(db: Database, migration_uuid: str, state: str) -> int:
    """Move a migration's claims to ``state``; returns how many rows changed."""
    if state not in CLAIM_STATES:
        raise errors.InvalidInput(f"mdev claim state {state!r}: expected one of {CLAIM_STATES}")
    with db.write() as conn:
        result = conn.execute(
            update(ClaimRow)
            .where(ClaimRow.migration_uuid == migration_uuid)
            .values(state=state, updated_at=_now())
        )
        return int(result.rowcount)


def release(db: Database, migration_uuid: str) -> int:
    """Drop every claim of ``migration_uuid`` (idempotent); returns how many."""
    with db.write() as conn:
        result = conn.execute(delete(ClaimRow).where(ClaimRow.migration_uuid == migration_uuid))
        return int(result.rowcount)


def stale_claims(
    claims: list[MdevClaim],
    migration_finished: Callable[[str], bool],
    max_age: datetime.timedelta,
    now: datetime.datetime,
) -> list[MdevClaim]:
    """Claims whose migration has ended, or that are older than ``max_age``."""
    return [
        c for c in claims if migration_finished(c.migration_uuid) or now - c.created_at > max_age
    ]


def reap(
    db: Database,
    migration_finished: Callable[[str], bool],
    max_age: datetime.timedelta,
    host: str | None = None,
) -> list[MdevClaim]:
    """Release the stale claims (of ``host`` when given); returns what was released."""
    stale = stale_claims(list_claims(db, host), migration_finished, max_age, _now())
    for migration_uuid in sorted({c.migration_uuid for c in stale}):
        release(db, migration_uuid)
    return stale
