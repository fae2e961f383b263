"""Repository of image data kept in the database (``[image] store = database``):
chunks written one write transaction each, then the row that makes them an image's
data; each chunk read in a read transaction of its own, so neither an upload nor a
download holds a transaction (or the writers' turn) for longer than one chunk."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select

from virtfleet.db.engine import Database
from virtfleet.db.models.image_data import ImageData as DataRow
from virtfleet.db.models.image_data import ImageDataChunk as ChunkRow


@dataclass(frozen=True)
class Stored:
    """An image's finished data: ``chunks`` chunks of ``chunk_size`` bytes (the last
    may be shorter), ``size`` bytes in all."""

    image_id: str
    size: int
    chunks: int
    chunk_size: int


def add_chunk(db: Database, image_id: str, seq: int, data: bytes) -> None:
    with db.write() as conn:
        conn.execute(insert(ChunkRow).values(image_id=image_id, seq=seq, data=data))


def finish(db: Database, stored: Stored) -> None:
    """Make the chunks written so far the image's data."""
    with db.write() as conn:
        conn.execute(delete(DataRow).where(DataRow.image_id == stored.image_id))
        conn.execute(
            insert(DataRow).values(
                image_id=stored.image_id,
                size=stored.size,
                chunks=stored.chunks,
                chunk_size=stored.chunk_size,
            )
        )


def stored(db: Database, image_id: str) -> Stored | None:
    """The image's finished data, None when it has none (or its upload is unfinished)."""
    with db.read() as conn:
        row = conn.execute(select(DataRow).where(DataRow.image_id == image_id)).one_or_none()
    if row is None:
        return None
    return Stored(image_id, row.size, row.chunks, row.chunk_size)


def chunk(db: Database, image_id: str, seq: int) -> bytes | None:
    with db.read() as conn:
        data = conn.execute(
            select(ChunkRow.data).where(ChunkRow.image_id == image_id, ChunkRow.seq == seq)
        ).scalar_one_or_none()
    return None if data is None else bytes(data)


def remove(db: Database, image_id: str) -> None:
    """Every row of the image's data, finished or not, in one write transaction."""
    with db.write() as conn:
        conn.execute(delete(DataRow).where(DataRow.image_id == image_id))
        conn.execute(delete(ChunkRow).where(ChunkRow.image_id == image_id))


def chunk_count(db: Database, image_id: str) -> int:
    """Chunk rows the image has (finished or not)."""
    with db.read() as conn:
        count = select(func.count()).select_from(ChunkRow).where(ChunkRow.image_id == image_id)
        return int(conn.execute(count).scalar_one())
