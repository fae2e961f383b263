"""Shared fixtures of the agent and host-reporting tests."""

from __future__ import annotations

import importlib
import pathlib
import sys

import pytest

from virtfleet.db.base import Base
from virtfleet.db.engine import Database

# The fakes module is imported by name; with --import-mode=importlib pytest does not
# put test directories on sys.path itself.
if str(pathlib.Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(pathlib.Path(__file__).parent))


def create_schema(database: Database) -> None:
    """Every table whose model module exists (the areas land independently)."""
    for area in ("hosts", "placement", "compute", "image"):
        try:
            importlib.import_module(f"virtfleet.db.models.{area}")
        except ImportError:
            continue
    Base.metadata.create_all(database.engine)


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'test.sqlite'}")
    create_schema(database)
    return database
