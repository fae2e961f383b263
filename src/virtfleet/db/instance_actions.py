"""Instance actions and their events (Nova's ``os-instance-actions``): what was asked
of a server, by whom, and how each step of it went."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from sqlalchemy import Table, insert, select, update

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import InstanceAction as ActionRow
from virtfleet.db.models.compute import InstanceActionEvent as EventRow
from virtfleet.db.models.compute import utcnow

ACTIONS: Table = ActionRow.__table__  # type: ignore[assignment]  # declarative: a Table
EVENTS: Table = EventRow.__table__  # type: ignore[assignment]  # declarative: a Table

SUCCESS = "Success"
ERROR = "Error"


@dataclass(frozen=True)
class Event:
    event: str
    start_time: datetime.datetime
    finish_time: datetime.datetime | None
    result: str | None
    details: str | None
    host: str | None


@dataclass(frozen=True)
class Action:
    id: int
    instance_uuid: str
    action: str
    request_id: str
    user_id: str | None
    project_id: str | None
    start_time: datetime.datetime
    updated_at: datetime.datetime
    message: str | None
    events: tuple[Event, ...] = ()


def _event(row: EventRow) -> Event:
    return Event(row.event, row.start_time, row.finish_time, row.result, row.details, row.host)


def _action(row: ActionRow, events: tuple[Event, ...] = ()) -> Action:
    return Action(
        id=row.id,
        instance_uuid=row.instance_uuid,
        action=row.action,
        request_id=row.request_id,
        user_id=row.user_id,
        project_id=row.project_id,
        start_time=row.start_time,
        updated_at=row.updated_at,
        message=row.message,
        events=events,
    )


def start(
    db: Database,
    instance_uuid: str,
    action: str,
    request_id: str,
    user_id: str | None = None,
    project_id: str | None = None,
) -> Action:
    """Record that ``action`` was asked of the server (by the request ``request_id``)."""
    now = utcnow()
    row = ActionRow(
        instance_uuid=instance_uuid,
        action=action,
        request_id=request_id,
        user_id=user_id,
        project_id=project_id,
        start_time=now,
        updated_at=now,
    )
    with db.session() as session:
        session.add(row)
        session.flush()
        return _action(row)


def list_actions(db: Database, instance_uuid: str) -> list[Action]:
    """The server's actions, newest first (without events)."""
    with db.read_session() as session:
        query = (
            select(ActionRow)
            .where(ActionRow.instance_uuid == instance_uuid)
            .order_by(ActionRow.start_time.desc(), ActionRow.id.desc())
        )
        return [_action(row) for row in session.scalars(query)]


def get(db: Database, instance_uuid: str, request_id: str) -> Action:
    """The server's action of request ``request_id``, with its events (oldest first)."""
    with db.read_session() as session:
        row = session.scalars(
            select(ActionRow)
            .where(ActionRow.instance_uuid == instance_uuid, ActionRow.request_id == request_id)
            .order_by(ActionRow.id.desc())
        ).first()
        if row is None:
            raise errors.NotFound(
                f"Action for request_id {request_id} on instance {instance_uuid} not found"
            )
        events = session.scalars(
            select(EventRow).where(EventRow.action_id == row.id).order_by(EventRow.id)
        )
        return _action(row, tuple(_event(e) for e in events))


def latest(db: Database, instance_uuid: str, action: str) -> Action | None:
    """The newest ``action`` of the server (None: never asked)."""
    with db.read() as conn:
        row = conn.execute(
            select(ACTIONS)
            .where(ACTIONS.c.instance_uuid == instance_uuid, ACTIONS.c.action == action)
            .order_by(ACTIONS.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else _action(row)  # type: ignore[arg-type]  # same attributes


# Every workflow step writes an event at its start and at its end: plain Core
# statements here (with the ORM, each step's two writes cost several loads and flushes).


def event_start(db: Database, action_id: int, event: str, host: str | None) -> int:
    """Record that step ``event`` of the action began; returns its id."""
    now = utcnow()
    with db.write() as conn:
        found = conn.execute(
            insert(EVENTS)
            .values(action_id=action_id, event=event, start_time=now, host=host)
            .returning(EVENTS.c.id)
        ).scalar_one()
        conn.execute(update(ACTIONS).where(ACTIONS.c.id == action_id).values(updated_at=now))
        return int(found)


def event_finish(
    db: Database, event_id: int, result: str, details: str | None = None, host: str | None = None
) -> None:
    """Record how step ``event_id`` ended; a failed step marks its action ``Error``."""
    now = utcnow()
    values: dict[str, object] = {"finish_time": now, "result": result, "details": details}
    if host is not None:
        values["host"] = host
    with db.write() as conn:
        action_id = conn.execute(
            update(EVENTS)
            .where(EVENTS.c.id == event_id)
            .values(**values)
            .returning(EVENTS.c.action_id)
        ).scalar_one_or_none()
        if action_id is None:
            return
        changes: dict[str, object] = {"updated_at": now}
        if result == ERROR:
            changes["message"] = ERROR
        conn.execute(update(ACTIONS).where(ACTIONS.c.id == action_id).values(**changes))
