"""Fixtures every test directory can use (registered in tests/conftest.py).

Databases: ``db`` is a SQLite file with every table; a directory whose tests must
also run on PostgreSQL overrides it with ``db_on_each_backend`` (one line in its
conftest.py), which is parametrised over ``db_backend``.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from support.databases import BACKENDS, fresh_database, sqlite_database
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.models import metadata


@pytest.fixture(
    params=[pytest.param(backend, marks=getattr(pytest.mark, backend)) for backend in BACKENDS]
)
def db_backend(request: pytest.FixtureRequest) -> str:
    """The database backend of a database-backed test: each runs on SQLite and on real
    PostgreSQL (``-m "not postgresql"`` for SQLite only); see support.databases."""
    backend: str = request.param
    return backend


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Database:
    """An empty SQLite database in ``tmp_path`` with every table."""
    return sqlite_database(tmp_path / "test.sqlite")


@pytest.fixture
def db_on_each_backend(tmp_path: pathlib.Path, db_backend: str) -> Iterator[Database]:
    """Every table on a new database of each backend (SQLite, PostgreSQL)."""
    with fresh_database(db_backend, tmp_path) as database:
        Base.metadata.create_all(database.engine, tables=list(metadata().tables.values()))
        yield database
