"""Where image data lives: one small interface, :class:`ImageStore`, with two backends
chosen by ``[image] store``:

``file``      one file per image under ``<data_dir>/images``
              (:mod:`virtfleet.image.file_store`); several servers must share that
              directory.
``database``  the image's bytes in chunks in the database every server already shares
              (:mod:`virtfleet.image.database_store`); servers need no shared disk.

:func:`virtfleet.image.backends.open_store` opens the one configured.

Both take the data as a stream and hand it back as one (never whole in memory), and
both hash it (md5 and sha512) while it is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import pathlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from virtfleet import errors

HASH_ALGO = "sha512"
#: The ``[image] store`` values.
BACKENDS = ("file", "database")


@dataclass(frozen=True)
class StoredData:
    """What was written: size in bytes and the hex digests."""

    size: int
    checksum: str  # md5
    os_hash_algo: str
    os_hash_value: str


@dataclass
class Digests:
    """The size and digests of data as it passes."""

    size: int = 0
    md5: hashlib._Hash = field(default_factory=lambda: hashlib.md5(usedforsecurity=False))
    sha: hashlib._Hash = field(default_factory=lambda: hashlib.new(HASH_ALGO))

    def update(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        self.sha.update(chunk)
        self.size += len(chunk)

    def stored(self) -> StoredData:
        return StoredData(self.size, self.md5.hexdigest(), HASH_ALGO, self.sha.hexdigest())


class ImageStore(Protocol):
    """The data of images, by image id."""

    def write(self, image_id: str, chunks: Iterable[bytes]) -> StoredData:
        """Store the data from ``chunks``; on any error (the stream's own included)
        nothing of it is left."""
        ...

    def read(self, image_id: str) -> Iterator[bytes]:
        """The data in chunks; NotFound when the image has none."""
        ...

    def exists(self, image_id: str) -> bool:
        """Whether the image has (completely written) data."""
        ...

    def delete(self, image_id: str) -> None:
        """Remove the data (finished or not); nothing when there is none."""
        ...

    def open(self, image_id: str) -> contextlib.AbstractContextManager[tuple[BinaryIO, int]]:
        """The data as a seekable binary file and its size (to read headers)."""
        ...

    def staging_path(self, image_id: str) -> pathlib.Path:
        """A local file where a snapshot of the image is written before its upload
        (the agent that writes it must see it)."""
        ...


def check_id(image_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9-]+", image_id):
        raise errors.InvalidInput(f"Invalid image id {image_id!r} for the data store.")
    return image_id
