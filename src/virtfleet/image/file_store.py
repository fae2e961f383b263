"""The ``file`` image store: one file per image, ``<images_dir>/<id>`` (by default
``<data_dir>/images``), written from a stream through a temporary file. Several servers
using it must share that directory."""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from virtfleet import errors
from virtfleet.image.store import Digests, StoredData, check_id

CHUNK_SIZE = 64 * 1024


class FileStore:
    """Files of image data in one directory."""

    def __init__(self, images_dir: str | pathlib.Path) -> None:
        self.root = pathlib.Path(images_dir)

    def path(self, image_id: str) -> pathlib.Path:
        return self.root / check_id(image_id)

    def write(self, image_id: str, chunks: Iterable[bytes]) -> StoredData:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path(image_id)
        partial = target.with_suffix(".partial")
        digests = Digests()
        try:
            with partial.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    digests.update(chunk)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return digests.stored()

    def read(self, image_id: str) -> Iterator[bytes]:
        path = self.path(image_id)
        if not path.exists():
            raise errors.NotFound(f"Image {image_id} has no data.")
        return _chunks(path)

    def exists(self, image_id: str) -> bool:
        return self.path(image_id).is_file()

    def delete(self, image_id: str) -> None:
        self.path(image_id).unlink(missing_ok=True)

    @contextlib.contextmanager
    def open(self, image_id: str) -> Iterator[tuple[BinaryIO, int]]:
        path = self.path(image_id)
        try:
            file = path.open("rb")
        except FileNotFoundError:
            raise errors.NotFound(f"Image {image_id} has no data.") from None
        with file:
            yield file, os.fstat(file.fileno()).st_size

    def staging_path(self, image_id: str) -> pathlib.Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f"{check_id(image_id)}.snapshot"


def _chunks(path: pathlib.Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            yield chunk
