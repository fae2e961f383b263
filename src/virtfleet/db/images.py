"""Image record repository: the metadata of images (their bytes are in
:mod:`virtfleet.image.store`)."""

from __future__ import annotations

import datetime
import uuid as uuidlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy import delete as sql_delete
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import utcnow
from virtfleet.db.models.image import Image as ImageRow
from virtfleet.db.models.image import ImageMember as MemberRow

#: Checked inside the write transaction that creates or grows a project's images,
#: with its connection (quota checks that racing writers cannot both pass).
Admission = Callable[[Connection], None]


@dataclass(frozen=True)
class Image:
    id: str
    name: str | None
    status: str
    disk_format: str | None
    container_format: str | None
    size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    visibility: str
    protected: bool
    min_disk: int
    min_ram: int
    owner: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    tags: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    reserved: int | None = None  # bytes an upload in progress holds
    os_hidden: bool = False  # left out of image lists unless asked for


# Columns callers may set through :func:`create` and :func:`update`.
COLUMNS = frozenset(
    {
        "name",
        "status",
        "disk_format",
        "container_format",
        "size",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "visibility",
        "protected",
        "min_disk",
        "min_ram",
        "owner",
        "tags",
        "properties",
        "reserved",
        "os_hidden",
    }
)


def _record(row: ImageRow) -> Image:
    return Image(
        id=row.id,
        name=row.name,
        status=row.status,
        disk_format=row.disk_format,
        container_format=row.container_format,
        size=row.size,
        checksum=row.checksum,
        os_hash_algo=row.os_hash_algo,
        os_hash_value=row.os_hash_value,
        visibility=row.visibility,
        protected=row.protected,
        min_disk=row.min_disk,
        min_ram=row.min_ram,
        owner=row.owner,
        created_at=row.created_at,
        updated_at=row.updated_at,
        tags=tuple(row.tags or ()),
        properties=dict(row.properties or {}),
        reserved=row.reserved,
        os_hidden=bool(row.os_hidden),
    )


def _check_columns(fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - COLUMNS
    if unknown:
        raise errors.InvalidInput(f"Unknown image field(s): {', '.join(sorted(unknown))}.")


def _row(session: Session, image_id: str) -> ImageRow:
    row = session.get(ImageRow, image_id)
    if row is None:
        raise errors.NotFound(f"No image found with ID {image_id}.")
    return row


def create(
    db: Database, image_id: str | None = None, admit: Admission | None = None, **fields: Any
) -> Image:
    """A new image record (status queued unless given); Conflict when the id exists.
    ``admit`` runs first in the same write transaction (a quota check)."""
    _check_columns(fields)
    image_id = image_id or str(uuidlib.uuid4())
    now = utcnow()
    with db.session() as session:
        if session.get(ImageRow, image_id) is not None:
            raise errors.Conflict(f"Image with identifier {image_id} already exists.")
        if admit is not None:
            admit(session.connection())
        row = ImageRow(id=image_id, created_at=now, updated_at=now, **fields)
        session.add(row)
        session.flush()
        return _record(row)


def get(db: Database, image_id: str) -> Image:
    with db.read_session() as session:
        return _record(_row(session, image_id))


def exists(db: Database, image_id: str) -> bool:
    with db.read() as conn:
        found = conn.execute(select(ImageRow.id).where(ImageRow.id == image_id)).first()
        return found is not None


def list_images(db: Database) -> list[Image]:
    """All images, newest first (filtering and paging are the service's job)."""
    with db.read_session() as session:
        query = select(ImageRow).order_by(ImageRow.created_at.desc(), ImageRow.id.desc())
        return [_record(row) for row in session.scalars(query)]


def update(db: Database, image_id: str, **fields: Any) -> Image:
    _check_columns(fields)
    with db.session() as session:
        row = _row(session, image_id)
        for name, value in fields.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        session.flush()
        return _record(row)


def delete(db: Database, image_id: str) -> None:
    """Delete the image and its members."""
    with db.session() as session:
        row = _row(session, image_id)
        session.execute(sql_delete(MemberRow).where(MemberRow.image_id == image_id))
        session.delete(row)


@dataclass(frozen=True)
class ProjectImages:
    """What a project's images hold: their number, and their bytes (stored data, or
    what an upload in progress has reserved, whichever is larger)."""

    count: int
    bytes: int


def project_usage(conn: Connection, owner: str, exclude: str | None = None) -> ProjectImages:
    """The images ``owner`` owns, read on ``conn`` (``exclude``: one image not counted)."""
    query = select(ImageRow.id, ImageRow.size, ImageRow.reserved).where(ImageRow.owner == owner)
    count = used = 0
    for row in conn.execute(query):
        count += 1
        if row.id != exclude:
            used += max(row.size or 0, row.reserved or 0)
    return ProjectImages(count, used)


def reserve(db: Database, image_id: str, amount: int, admit: Admission) -> None:
    """Hold ``amount`` bytes for ``image_id``'s upload once ``admit`` (run in the same
    write transaction, so concurrent uploads take turns) lets it."""
    with db.write() as conn:
        admit(conn)
        conn.execute(update_rows(ImageRow).where(ImageRow.id == image_id).values(reserved=amount))
