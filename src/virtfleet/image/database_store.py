"""The ``database`` image store: an image's bytes in chunks of ``chunk_size`` (1 MiB)
in the database all servers share (``image_data_chunks``), and a row written last
that makes them the image's data (``image_data``). Any server reads what any other
wrote; no server needs a shared directory.

An upload holds at most one chunk in memory and writes each in a write transaction of
its own; a failed upload (the client's stream broke, over a cap, the database gone)
removes what it wrote. A server killed mid-upload leaves its chunks behind an image
that stays ``saving``; deleting the image removes them. A download reads one chunk
per read transaction."""

from __future__ import annotations

import contextlib
import io
import pathlib
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, cast

from virtfleet import errors
from virtfleet.db import image_data
from virtfleet.db.engine import Database
from virtfleet.image.store import Digests, StoredData, check_id

CHUNK_SIZE = 1 << 20

Fetch = Callable[[image_data.Stored, int], bytes]


class DatabaseStore:
    """Image data as chunk rows in ``db``; snapshots staged under ``staging_dir``."""

    def __init__(
        self, db: Database, staging_dir: str | pathlib.Path, chunk_size: int = CHUNK_SIZE
    ) -> None:
        self.db = db
        self.staging_dir = pathlib.Path(staging_dir)
        self.chunk_size = chunk_size

    def write(self, image_id: str, chunks: Iterable[bytes]) -> StoredData:
        check_id(image_id)
        image_data.remove(self.db, image_id)  # what a killed upload may have left
        digests = Digests()
        buffer = bytearray()
        seq = 0
        try:
            for piece in chunks:
                digests.update(piece)
                buffer += piece
                while len(buffer) >= self.chunk_size:
                    image_data.add_chunk(self.db, image_id, seq, bytes(buffer[: self.chunk_size]))
                    del buffer[: self.chunk_size]
                    seq += 1
            if buffer or seq == 0:  # the rest (an empty image has one empty chunk)
                image_data.add_chunk(self.db, image_id, seq, bytes(buffer))
                seq += 1
            image_data.finish(
                self.db, image_data.Stored(image_id, digests.size, seq, self.chunk_size)
            )
        except BaseException:
            image_data.remove(self.db, image_id)
            raise
        return digests.stored()

    def read(self, image_id: str) -> Iterator[bytes]:
        stored = self._stored(image_id)
        return self._chunks(stored)

    def _chunks(self, stored: image_data.Stored) -> Iterator[bytes]:
        for seq in range(stored.chunks):
            yield self._chunk(stored, seq)

    def _chunk(self, stored: image_data.Stored, seq: int) -> bytes:
        data = image_data.chunk(self.db, stored.image_id, seq)
        if data is None:  # deleted while being read
            raise errors.ImageDataError(
                f"image {stored.image_id}: chunk {seq} of {stored.chunks} is gone "
                "(the data was deleted while being read)"
            )
        return data

    def exists(self, image_id: str) -> bool:
        return image_data.stored(self.db, check_id(image_id)) is not None

    def delete(self, image_id: str) -> None:
        image_data.remove(self.db, check_id(image_id))

    @contextlib.contextmanager
    def open(self, image_id: str) -> Iterator[tuple[BinaryIO, int]]:
        stored = self._stored(image_id)
        raw = _ChunkFile(stored, self._chunk)
        with io.BufferedReader(raw, buffer_size=64 * 1024) as file:
            yield cast(BinaryIO, file), stored.size

    def staging_path(self, image_id: str) -> pathlib.Path:
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        return self.staging_dir / f"{check_id(image_id)}.snapshot"

    def _stored(self, image_id: str) -> image_data.Stored:
        stored = image_data.stored(self.db, check_id(image_id))
        if stored is None:
            raise errors.NotFound(f"Image {image_id} has no data.")
        return stored


class _ChunkFile(io.RawIOBase):
    """A seekable read-only file over an image's chunks, one chunk cached."""

    def __init__(self, stored: image_data.Stored, fetch: Fetch) -> None:
        super().__init__()
        self._stored = stored
        self._fetch = fetch
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._stored.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        done = 0
        size, chunk_size = self._stored.size, self._stored.chunk_size
        while done < len(view) and self._pos < size:
            seq, within = divmod(self._pos, chunk_size)
            data = self._chunk(seq)[within:]
            take = min(len(view) - done, len(data))
            if take == 0:
                break
            view[done : done + take] = data[:take]
            done += take
            self._pos += take
        return done

    def _chunk(self, seq: int) -> bytes:
        if self._cached is None or self._cached[0] != seq:
            self._cached = (seq, self._fetch(self._stored, seq))
        return self._cached[1]
