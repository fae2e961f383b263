"""What is happening: live migrations in progress with their progress, and the most
recent instance actions with the reason of any failure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select

from virtfleet.db.engine import Database
from virtfleet.db.migration_records import IN_PROGRESS
from virtfleet.db.models.compute import InstanceAction, InstanceActionEvent, Server
from virtfleet.db.models.migrations import Migration

MIGRATIONS = Migration.__table__.c
ACTIONS = InstanceAction.__table__.c
EVENTS = InstanceActionEvent.__table__.c
SERVER_TABLE: Table = Server.__table__  # type: ignore[assignment]  # a Table, typed as FromClause
SERVERS = SERVER_TABLE.c
#: How many migrations in progress one answer lists (the count is always exact).
MAX_MIGRATIONS = 500


def progress(processed: int | None, total: int | None) -> float:
    """Percent of the memory copied (0 before the copy started)."""
    if not total or processed is None:
        return 0.0
    return round(min(100.0, 100.0 * processed / total), 1)


def migrations_in_progress(db: Database) -> dict[str, Any]:
    """Live migrations not yet ended, oldest first, with their memory progress."""
    query = (
        select(
            MIGRATIONS.id,
            MIGRATIONS.uuid,
            MIGRATIONS.instance_uuid,
            MIGRATIONS.status,
            MIGRATIONS.source_compute,
            MIGRATIONS.dest_compute,
            MIGRATIONS.memory_total,
            MIGRATIONS.memory_processed,
            MIGRATIONS.memory_remaining,
            MIGRATIONS.created_at,
            SERVERS.name,
        )
        .outerjoin(SERVER_TABLE, SERVERS.uuid == MIGRATIONS.instance_uuid)
        .where(MIGRATIONS.status.in_(sorted(IN_PROGRESS)))
        .order_by(MIGRATIONS.created_at, MIGRATIONS.id)
    )
    with db.read() as conn:
        rows = conn.execute(query.limit(MAX_MIGRATIONS + 1)).all()
    return {
        "migrations": [
            {
                "id": r.id,
                "uuid": r.uuid,
                "server_id": r.instance_uuid,
                "server_name": r.name or "",
                "status": r.status,
                "source": r.source_compute,
                "destination": r.dest_compute,
                "memory_total": r.memory_total,
                "memory_processed": r.memory_processed,
                "progress": progress(r.memory_processed, r.memory_total),
                "created_at": r.created_at.isoformat() if r.created_at else None,
            }
            for r in rows[:MAX_MIGRATIONS]
        ],
        "truncated": len(rows) > MAX_MIGRATIONS,
    }


def recent_actions(db: Database, limit: int) -> dict[str, Any]:
    """The ``limit`` latest instance actions, newest first, each with its failed
    events' details (the failure's reason)."""
    with db.read() as conn:
        actions = conn.execute(
            select(
                ACTIONS.id,
                ACTIONS.instance_uuid,
                ACTIONS.action,
                ACTIONS.request_id,
                ACTIONS.user_id,
                ACTIONS.start_time,
                ACTIONS.message,
                SERVERS.name,
            )
            .outerjoin(SERVER_TABLE, SERVERS.uuid == ACTIONS.instance_uuid)
            .order_by(ACTIONS.start_time.desc(), ACTIONS.id.desc())
            .limit(limit)
        ).all()
        events = conn.execute(
            select(EVENTS.action_id, EVENTS.event, EVENTS.result, EVENTS.details, EVENTS.host)
            .where(EVENTS.action_id.in_([a.id for a in actions]))
            .order_by(EVENTS.id)
        ).all()
    by_action: dict[int, list[Any]] = {}
    for event in events:
        by_action.setdefault(event.action_id, []).append(event)
    listed = []
    for a in actions:
        own = by_action.get(a.id, [])
        failures = [
            {"event": e.event, "host": e.host, "details": e.details or ""}
            for e in own
            if (e.result or "").lower() == "error"
        ]
        finished = bool(own) and all(e.result for e in own)
        listed.append(
            {
                "server_id": a.instance_uuid,
                "server_name": a.name or "",
                "action": a.action,
                "request_id": a.request_id,
                "user_id": a.user_id,
                "start_time": a.start_time.isoformat() if a.start_time else None,
                "result": "error" if failures or a.message else ("done" if finished else "running"),
                "message": a.message or "",
                "failures": failures,
            }
        )
    return {"actions": listed}
