"""Fixtures of the vGPU tests: a database with every table, and the conductor tests'
harness (a small cloud without HTTP) on the importable path."""

from __future__ import annotations

import pathlib
import sys

import pytest

from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.models import mdev_claims, metadata

HERE = pathlib.Path(__file__).parent
for helpers in (HERE, HERE.parent / "conductor", HERE.parent / "agent"):
    if str(helpers) not in sys.path:
        sys.path.insert(0, str(helpers))


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Database:
    metadata()
    assert mdev_claims.MdevClaim.__table__ is not None
    database = Database(f"sqlite:///{tmp_path / 'test.sqlite'}")
    Base.metadata.create_all(database.engine)
    return database
