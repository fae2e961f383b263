"""Instance actions and their events (Nova's ``os-instance-actions``): what was asked
of a server, by whom, and how each step of it went."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from sqlalchemy import select

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import InstanceAction as ActionRow
from virtfleet.db.models.compute import InstanceActionEvent as EventRow
from virtfleet.db.models.compute import utcnow

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
    with db.read_session() as session:
        row = session.scalars(
            select(ActionRow)
            .where(ActionRow.instance_uuid == instance_uuid, ActionRow.action == action)
            .order_by(ActionRow.id.desc())
        ).first()
        return None if row is None else _action(row)


def event_start(db: Database, action_id: int, event: str, host: str | None) -> int:
    """Record that step ``event`` of the action began; returns its id."""
    now = utcnow()
    with db.session() as session:
        row = EventRow(action_id=action_id, event=event, start_time=now, host=host)
        session.add(row)
        action = session.get(ActionRow, action_id)
        if action is not None:
            action.updated_at = now
        session.flush()
        return row.id


def event_finish(
    db: Database, event_id: int, result: str, details: str | None = None, host: str | None = None
) -> None:
    """Record how step ``event_id`` ended; a failed step marks its action ``Error``."""
    now = utcnow()
    with db.session() as session:
        row = session.get(EventRow, event_id)
        if row is None:
            return
        row.finish_time, row.result, row.details = now, result, details
        if host is not None:
            row.host = host
        action = session.get(ActionRow, row.action_id)
        if action is not None:
            action.updated_at = now
            if result == ERROR:
                action.message = ERROR
