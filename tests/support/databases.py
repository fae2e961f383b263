"""Test databases on either backend: a SQLite file in the test's directory, or a new
database on the real PostgreSQL that scripts/install-postgresql.sh starts (dropped
after the test).

``VIRTFLEET_TEST_POSTGRESQL`` names the server and an account that may create
databases (default: the script's ``virtfleet`` account on 127.0.0.1). Without a
server the PostgreSQL variants skip on a developer machine and fail under CI.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pathlib
import random
import time
import uuid
import warnings
from collections.abc import Iterator

import sqlalchemy
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from support.ci import unavailable
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.models import metadata

#: The backends a database-backed test runs on (``db_backend`` fixture parameters).
BACKENDS = ("sqlite", "postgresql")

DEFAULT_POSTGRESQL = "postgresql+psycopg://virtfleet:virtfleet@127.0.0.1:5432/virtfleet"


def postgresql_admin_url() -> str:
    """The URL of a database on the test server whose account may create databases."""
    return os.environ.get("VIRTFLEET_TEST_POSTGRESQL", DEFAULT_POSTGRESQL)


@functools.cache
def _postgresql_problem() -> str | None:
    """Why the test server cannot be used, or None when it answers."""
    engine = sqlalchemy.create_engine(postgresql_admin_url(), connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # any driver error: the variant cannot run
        return f"no PostgreSQL at {make_url(postgresql_admin_url())!r}: {exc}"
    finally:
        engine.dispose()
    return None


def require_postgresql() -> None:
    """Skip (fail under CI) unless the test PostgreSQL answers."""
    problem = _postgresql_problem()
    if problem is not None:
        unavailable(f"{problem} (scripts/install-postgresql.sh starts one)")


@contextlib.contextmanager
def postgresql_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    require_postgresql()
    name = f"vftest_{uuid.uuid4().hex[:16]}"
    admin = sqlalchemy.create_engine(postgresql_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        _create(admin, name)
        try:
            yield (
                make_url(postgresql_admin_url())
                .set(database=name)
                .render_as_string(hide_password=False)
            )
        finally:
            _drop(admin, name)
    finally:
        admin.dispose()


def _drop(admin: sqlalchemy.Engine, name: str) -> None:
    """DROP DATABASE (ending its connections), a few times; a database that still
    cannot be dropped is left with a warning (its vftest_ name says what it is) rather
    than failing the test that used it."""
    for attempt in range(5):
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except sqlalchemy.exc.DBAPIError as exc:
            if attempt == 4:
                warnings.warn(f"test database {name} left behind: {exc}", stacklevel=2)
                return
            time.sleep(0.5)


def _create(admin: sqlalchemy.Engine, name: str) -> None:
    """CREATE DATABASE, again after a moment when another run's CREATE DATABASE held
    the template ("source database ... is being accessed by other users")."""
    for attempt in range(20):
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
            return
        except sqlalchemy.exc.DBAPIError as exc:
            passing = isinstance(exc, sqlalchemy.exc.OperationalError)  # e.g. too many clients
            if not (passing or "being accessed by other users" in str(exc)) or attempt == 19:
                raise
            time.sleep(0.1 + random.random() * 0.2)


@contextlib.contextmanager
def database_url(backend: str, directory: pathlib.Path, name: str = "test") -> Iterator[str]:
    """A URL of a new, empty database on ``backend`` (a SQLite file ``name``.sqlite in
    ``directory``, or a PostgreSQL database dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / name}.sqlite"
    elif backend == "postgresql":
        with postgresql_database() as url:
            yield url
    else:
        raise ValueError(f"unknown database backend {backend!r}; known: {', '.join(BACKENDS)}")


@contextlib.contextmanager
def fresh_database(backend: str, directory: pathlib.Path, name: str = "test") -> Iterator[Database]:
    """A :class:`Database` on a new, empty database of ``backend``, disposed of after."""
    with database_url(backend, directory, name) as url:
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()


def sqlite_database(path: pathlib.Path) -> Database:
    """A SQLite database at ``path`` with every table of every model module."""
    database = Database(f"sqlite:///{path}")
    Base.metadata.create_all(database.engine, tables=list(metadata().tables.values()))
    return database
