"""Fixtures of the conductor tests; the fake driver is shared with tests/compute."""

from __future__ import annotations

import importlib
import pathlib
import sys

import pytest

from virtfleet.db.base import Base
from virtfleet.db.engine import Database

sys.path.insert(0, str(pathlib.Path(__file__).parent.parent / "compute"))


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Database:
    for area in ("hosts", "placement", "compute", "image"):
        try:
            importlib.import_module(f"virtfleet.db.models.{area}")
        except ImportError:
            continue
    database = Database(f"sqlite:///{tmp_path / 'test.sqlite'}")
    Base.metadata.create_all(database.engine)
    return database
