"""Migration records: created by the conductor when a move starts, moved through
:data:`STATUSES` as it runs, listed by the Compute API (``os-migrations``). A live
migration ends ``completed``; a cold migration or resize lands ``finished`` (the
server in VERIFY_RESIZE, the source still held) and ends ``confirmed`` or
``reverted``.

(Not ``db/migrations.py``: that name is the alembic scripts' directory.)
"""

from __future__ import annotations

import datetime
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select
from sqlalchemy import update as sqlalchemy_update

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import utcnow
from virtfleet.db.models.migrations import Migration as MigrationRow

QUEUED, PREPARING, RUNNING = "queued", "preparing", "running"
COMPLETED, FAILED, CANCELLED, ERROR = "completed", "failed", "cancelled", "error"
FINISHED, CONFIRMING, CONFIRMED = "finished", "confirming", "confirmed"
REVERTING, REVERTED = "reverting", "reverted"
DONE = "done"  # an evacuation rebuilt the guest; the dead source is not cleaned yet
STATUSES = (
    QUEUED, PREPARING, RUNNING, COMPLETED, FAILED, CANCELLED, ERROR,
    FINISHED, CONFIRMING, CONFIRMED, REVERTING, REVERTED, DONE,
)  # fmt: skip
#: Not over yet: both hosts may hold the guest's resources or files.
IN_PROGRESS = frozenset({QUEUED, PREPARING, RUNNING, FINISHED, CONFIRMING, REVERTING, DONE})
LIVE_MIGRATION = "live-migration"
MIGRATION = "migration"  # a cold migration (Nova's migration_type)
RESIZE = "resize"
EVACUATION = "evacuation"  # rebuilt from its image elsewhere, its host down

UPDATABLE = frozenset(
    {
        "status",
        "owner",
        "dest_compute",
        "dest_node",
        "dest_host",
        "memory_total",
        "memory_processed",
        "memory_remaining",
        "disk_total",
        "disk_processed",
        "disk_remaining",
        "error",
        "flavors",
    }
)


@dataclass(frozen=True)
class Migration:
    id: int
    uuid: str
    instance_uuid: str
    migration_type: str
    source_compute: str | None
    source_node: str | None
    dest_compute: str | None
    dest_node: str | None
    dest_host: str | None
    status: str
    memory_total: int | None
    memory_processed: int | None
    memory_remaining: int | None
    disk_total: int | None
    disk_processed: int | None
    disk_remaining: int | None
    project_id: str
    user_id: str
    error: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    owner: str | None = None  # the control server driving it
    flavors: dict[str, Any] | None = None  # cold migration, resize: old and new flavors

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS


def _record(row: MigrationRow) -> Migration:
    return Migration(**{name: getattr(row, name) for name in Migration.__dataclass_fields__})


def ensure_table(db: Database) -> None:
    """Create the table when the schema predates it (until the alembic migration that
    adds it exists)."""
    MigrationRow.__table__.create(db.engine, checkfirst=True)  # type: ignore[attr-defined]  # Table, not FromClause


def create(
    db: Database,
    *,
    instance_uuid: str,
    source_compute: str,
    source_node: str | None,
    project_id: str,
    user_id: str,
    dest_compute: str | None = None,
    migration_uuid: str | None = None,
    owner: str | None = None,
    migration_type: str = LIVE_MIGRATION,
    flavors: dict[str, Any] | None = None,
    admit: Callable[[Connection], None] | None = None,
) -> Migration:
    """A new migration record (default: a live migration) in status ``queued``;
    ``admit`` runs first in the same write transaction (a resize's quota check, which
    counts the project's other resizes) and raises to refuse."""
    now = utcnow()
    row = MigrationRow(
        uuid=migration_uuid or str(uuidlib.uuid4()),
        instance_uuid=instance_uuid,
        migration_type=migration_type,
        flavors=flavors,
        source_compute=source_compute,
        source_node=source_node,
        dest_compute=dest_compute,
        dest_host=dest_compute,
        status=QUEUED,
        project_id=project_id,
        user_id=user_id,
        created_at=now,
        updated_at=now,
        owner=owner,
    )
    with db.session() as session:
        if admit is not None:
            admit(session.connection())
        session.add(row)
        session.flush()
        return _record(row)


def get(db: Database, migration_id: int | str) -> Migration:
    """By integer id or uuid; NotFound otherwise."""
    with db.read_session() as session:
        query = select(MigrationRow)
        if isinstance(migration_id, int) or str(migration_id).isdigit():
            query = query.where(MigrationRow.id == int(migration_id))
        else:
            query = query.where(MigrationRow.uuid == migration_id)
        row = session.scalars(query).first()
        if row is None:
            raise errors.NotFound(f"Migration {migration_id} could not be found.")
        return _record(row)


def update(db: Database, migration_id: int, **fields: Any) -> Migration:
    """Change fields (see :data:`UPDATABLE`); ``updated_at`` follows."""
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise errors.InvalidInput(f"Cannot update migration field(s) {sorted(unknown)}.")
    if "status" in fields and fields["status"] not in STATUSES:
        raise errors.InvalidInput(f"Unknown migration status {fields['status']!r}.")
    with db.session() as session:
        row = session.get(MigrationRow, migration_id)
        if row is None:
            raise errors.NotFound(f"Migration {migration_id} could not be found.")
        for name, value in fields.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        session.flush()
        return _record(row)


def list_migrations(
    db: Database,
    *,
    instance_uuid: str | None = None,
    host: str | None = None,
    status: str | None = None,
    migration_type: str | None = None,
    in_progress: bool = False,
    changes_since: datetime.datetime | None = None,
    changes_before: datetime.datetime | None = None,
    project_id: str | None = None,
    user_id: str | None = None,
) -> list[Migration]:
    """Matching records, newest first (``host`` matches source or destination)."""
    query = select(MigrationRow).order_by(MigrationRow.created_at.desc(), MigrationRow.id.desc())
    if instance_uuid is not None:
        query = query.where(MigrationRow.instance_uuid == instance_uuid)
    if host is not None:
        query = query.where(
            or_(MigrationRow.source_compute == host, MigrationRow.dest_compute == host)
        )
    if status is not None:
        query = query.where(MigrationRow.status == status)
    if migration_type is not None:
        query = query.where(MigrationRow.migration_type == migration_type)
    if in_progress:
        query = query.where(MigrationRow.status.in_(sorted(IN_PROGRESS)))
    if changes_since is not None:
        query = query.where(MigrationRow.updated_at >= changes_since)
    if changes_before is not None:
        query = query.where(MigrationRow.updated_at <= changes_before)
    if project_id is not None:
        query = query.where(MigrationRow.project_id == project_id)
    if user_id is not None:
        query = query.where(MigrationRow.user_id == user_id)
    with db.read_session() as session:
        return [_record(row) for row in session.scalars(query)]


def take_over(db: Database, migration_id: int, dead_owner: str | None, new_owner: str) -> bool:
    """Make ``new_owner`` the owner of the migration if ``dead_owner`` still owns it
    (None: nobody); False when another server took it first."""
    with db.write() as conn:
        owner = MigrationRow.owner
        done = conn.execute(
            sqlalchemy_update(MigrationRow)
            .where(
                MigrationRow.id == migration_id,
                owner.is_(None) if dead_owner is None else owner == dead_owner,
            )
            .values(owner=new_owner)
        )
        return done.rowcount == 1
