"""Database handle: engine, transactions, migrations.

SQLite (the default) runs in WAL mode with foreign keys on; write transactions start
with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock upgrade — the second
waits (busy timeout) instead. Reads use deferred transactions and never block writers.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

_IMMEDIATE = "virtfleet_immediate"


class Database:
    """One database: ``read()`` and ``write()`` give Core connections in a transaction,
    ``session()`` an ORM session in a write transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = 40
            kwargs["max_overflow"] = 40
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @classmethod
    def for_data_dir(cls, data_dir: str | pathlib.Path, url: str = "") -> Database:
        """The configured URL, else a SQLite file in ``data_dir``."""
        if url:
            return cls(url)
        path = pathlib.Path(data_dir).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{path / 'virtfleet.sqlite'}")

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (deferred; sees a consistent snapshot)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed on success and rolled back on error."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in a write transaction."""
        with self.write() as conn, Session(bind=conn, expire_on_commit=False) as session:
            yield session
            session.flush()

    @contextlib.contextmanager
    def read_session(self) -> Iterator[Session]:
        """An ORM session on a read transaction (never blocks writers)."""
        with self.read() as conn, Session(bind=conn) as session:
            yield session

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        from virtfleet.db import migrate

        migrate.upgrade(self)

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (below) emit BEGIN; pysqlite's own handling is unreliable.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
