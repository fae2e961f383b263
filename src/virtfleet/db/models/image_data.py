"""Image data in the database (``[image] store = database``): each image's bytes in
numbered chunks, and one row per image whose upload finished (its size, how many
chunks, and their size). Neither table refers to ``images``: data outlives its image
record while a server still uses it (:mod:`virtfleet.image.in_use`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from virtfleet.db.base import Base


class ImageData(Base):
    """An image's stored data: written last, so chunks without it are an upload in
    progress (or one whose server died; deleting the image removes them)."""

    __tablename__ = "image_data"

    image_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    chunks: Mapped[int] = mapped_column(Integer)
    #: Every chunk but the last holds exactly this many bytes.
    chunk_size: Mapped[int] = mapped_column(Integer)


class ImageDataChunk(Base):
    __tablename__ = "image_data_chunks"

    image_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
