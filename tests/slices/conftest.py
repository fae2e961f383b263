"""Fixtures of the slice tests: a database and the slice cloud helper module."""

from __future__ import annotations

import importlib
import pathlib
import sys
from collections.abc import Iterator

import pytest

from virtfleet.db.base import Base
from virtfleet.db.engine import Database

# Helper modules are imported by name; with --import-mode=importlib pytest does not
# put test directories on sys.path itself.
if str(pathlib.Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(pathlib.Path(__file__).parent))

from slice_cloud import SliceCloud, make_slice_cloud, serve_api


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Database:
    for area in ("hosts", "placement", "compute", "image"):
        importlib.import_module(f"virtfleet.db.models.{area}")
    database = Database(f"sqlite:///{tmp_path / 'test.sqlite'}")
    Base.metadata.create_all(database.engine)
    return database


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[SliceCloud]:
    built = make_slice_cloud(tmp_path, db)
    yield built
    built.stop()


@pytest.fixture
def endpoint(cloud: SliceCloud) -> Iterator[str]:
    """The slice cloud's HTTP APIs (for the CLI tests)."""
    with serve_api(cloud) as url:
        yield url
