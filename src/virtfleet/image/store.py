"""Image data store: one file per image, ``<images_dir>/<id>`` (by default
``<data_dir>/images``), written from
a stream through a temporary file and hashed (md5 and sha512) while written."""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from virtfleet import errors

CHUNK_SIZE = 64 * 1024
HASH_ALGO = "sha512"


@dataclass(frozen=True)
class StoredData:
    """What was written: size in bytes and the hex digests."""

    size: int
    checksum: str  # md5
    os_hash_algo: str
    os_hash_value: str


class ImageStore:
    """Files of image data in one directory (``<data_dir>/images``)."""

    def __init__(self, images_dir: str | pathlib.Path) -> None:
        self.root = pathlib.Path(images_dir)

    def path(self, image_id: str) -> pathlib.Path:
        if not re.fullmatch(r"[A-Za-z0-9-]+", image_id):
            raise errors.InvalidInput(f"Invalid image id {image_id!r} for the data store.")
        return self.root / image_id

    def write(self, image_id: str, chunks: Iterable[bytes]) -> StoredData:
        """Store the data of an image (replacing none: the caller checks status)."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path(image_id)
        partial = target.with_suffix(".partial")
        md5 = hashlib.md5(usedforsecurity=False)
        sha = hashlib.new(HASH_ALGO)
        size = 0
        try:
            with partial.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    md5.update(chunk)
                    sha.update(chunk)
                    size += len(chunk)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredData(size, md5.hexdigest(), HASH_ALGO, sha.hexdigest())

    def read(self, image_id: str) -> Iterator[bytes]:
        """The data in chunks; NotFound when the image has none."""
        path = self.path(image_id)
        if not path.exists():
            raise errors.NotFound(f"Image {image_id} has no data.")
        return _chunks(path)

    def delete(self, image_id: str) -> None:
        self.path(image_id).unlink(missing_ok=True)


def _chunks(path: pathlib.Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            yield chunk
