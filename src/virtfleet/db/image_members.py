"""Image member repository: the projects an image is shared with (Glance's members)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from sqlalchemy import select

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import utcnow
from virtfleet.db.models.image import ImageMember as MemberRow

STATUSES = ("pending", "accepted", "rejected")


@dataclass(frozen=True)
class Member:
    image_id: str
    member_id: str
    status: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


def _record(row: MemberRow) -> Member:
    return Member(row.image_id, row.member_id, row.status, row.created_at, row.updated_at)


def _missing(image_id: str, member_id: str) -> errors.NotFound:
    return errors.NotFound(f"Member {member_id} of image {image_id} not found.")


def add(db: Database, image_id: str, member_id: str) -> Member:
    """A new ``pending`` member; Conflict when the project is a member already."""
    now = utcnow()
    with db.session() as session:
        if session.get(MemberRow, (image_id, member_id)) is not None:
            raise errors.Conflict(f"Member {member_id} already exists on image {image_id}.")
        row = MemberRow(
            image_id=image_id, member_id=member_id, status="pending", created_at=now, updated_at=now
        )
        session.add(row)
        session.flush()
        return _record(row)


def get(db: Database, image_id: str, member_id: str) -> Member:
    with db.read_session() as session:
        row = session.get(MemberRow, (image_id, member_id))
        if row is None:
            raise _missing(image_id, member_id)
        return _record(row)


def find(db: Database, image_id: str, member_id: str) -> Member | None:
    try:
        return get(db, image_id, member_id)
    except errors.NotFound:
        return None


def list_members(db: Database, image_id: str) -> list[Member]:
    """The image's members, oldest first."""
    with db.read_session() as session:
        query = (
            select(MemberRow)
            .where(MemberRow.image_id == image_id)
            .order_by(MemberRow.created_at, MemberRow.member_id)
        )
        return [_record(row) for row in session.scalars(query)]


def memberships(db: Database, member_id: str) -> dict[str, str]:
    """Image id -> this project's member status, for every image shared with it."""
    with db.read() as conn:
        query = select(MemberRow.image_id, MemberRow.status).where(MemberRow.member_id == member_id)
        return {row.image_id: row.status for row in conn.execute(query)}


def set_status(db: Database, image_id: str, member_id: str, status: str) -> Member:
    if status not in STATUSES:
        raise errors.InvalidInput(
            f"Invalid member status {status!r}: expected one of {', '.join(STATUSES)}."
        )
    with db.session() as session:
        row = session.get(MemberRow, (image_id, member_id))
        if row is None:
            raise _missing(image_id, member_id)
        row.status = status
        row.updated_at = utcnow()
        session.flush()
        return _record(row)


def remove(db: Database, image_id: str, member_id: str) -> None:
    with db.session() as session:
        row = session.get(MemberRow, (image_id, member_id))
        if row is None:
            raise _missing(image_id, member_id)
        session.delete(row)
