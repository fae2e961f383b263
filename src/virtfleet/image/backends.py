"""The image store ``[image] store`` names (:mod:`virtfleet.image.store`)."""

from __future__ import annotations

import pathlib

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.image.database_store import DatabaseStore
from virtfleet.image.file_store import FileStore
from virtfleet.image.store import BACKENDS, ImageStore


def open_store(backend: str, data_dir: str | pathlib.Path, db: Database) -> ImageStore:
    """The ``[image] store`` named ``backend``; ConfigError naming the choices for
    an unknown one."""
    data = pathlib.Path(data_dir)
    if backend == "file":
        return FileStore(data / "images")
    if backend == "database":
        return DatabaseStore(db, data / "image-staging")
    raise errors.ConfigError(
        f"[image] store {backend!r} is not an image store; expected one of {', '.join(BACKENDS)}"
    )
