"""Fixtures of the conductor tests; the fake driver is shared with tests/agent."""

from __future__ import annotations

import importlib
import pathlib
import sys
from collections.abc import Iterator

import pytest

from support.databases import fresh_database
from virtfleet.db.base import Base
from virtfleet.db.engine import Database

# Helper modules (harness, fakes) are imported by name; with --import-mode=importlib
# pytest does not put test directories on sys.path itself.
for helpers in (pathlib.Path(__file__).parent, pathlib.Path(__file__).parent.parent / "agent"):
    if str(helpers) not in sys.path:
        sys.path.insert(0, str(helpers))


@pytest.fixture
def db(tmp_path: pathlib.Path, db_backend: str) -> Iterator[Database]:
    """Every table on a new database of each backend."""
    for area in ("hosts", "placement", "compute", "image"):
        try:
            importlib.import_module(f"virtfleet.db.models.{area}")
        except ImportError:
            continue
    with fresh_database(db_backend, tmp_path) as database:
        Base.metadata.create_all(database.engine)
        yield database
