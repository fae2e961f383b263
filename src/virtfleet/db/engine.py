"""Database handle: engine, transactions, migrations.

SQLite (the default) runs in WAL mode with foreign keys on; write transactions start
with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock upgrade — the second
waits (busy timeout) instead. Reads use deferred transactions and never block writers.

Writers of one process first queue on a lock per database file: SQLite makes a
waiting writer sleep in growing steps (up to 100 ms) and retry, which under many
threads means long stalls and, past the busy timeout, "database is locked"; a
thread waiting on the lock instead starts the moment the previous writer commits.
Other processes still meet at SQLite's own lock (busy timeout).

PostgreSQL (several servers on one database) keeps the same rule: a write transaction
first takes one transaction-scoped advisory lock, so writers of every server take
turns as SQLite's do and the read-check-write code above them (capacity checks,
generation bumps, state transitions) never races another server; reads run in
``REPEATABLE READ`` (one snapshot per transaction, as in SQLite) and never wait.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session

from virtfleet import errors
from virtfleet.db import migrate

_IMMEDIATE = "virtfleet_immediate"
_TAKE_WRITER_TURN = text("SELECT pg_advisory_xact_lock(:key)")
_TAKE_SESSION_LOCK = text("SELECT pg_advisory_lock(:key)")
_RELEASE_SESSION_LOCK = text("SELECT pg_advisory_unlock(:key)")

#: SQLite's busy timeout (seconds): how long a writer waits for the write lock.
BUSY_TIMEOUT = 30.0

#: PostgreSQL advisory lock keys (one 64-bit key space per database): writers' turns
#: and schema migrations.
WRITER_LOCK_KEY = 0x76665F7772  # "vf_wr"
MIGRATION_LOCK_KEY = 0x76665F6D67  # "vf_mg"

_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(url: str) -> threading.RLock:
    """The process-wide writer lock of the database at ``url``."""
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(url, threading.RLock())


class Database:
    """One database: ``read()`` and ``write()`` give Core connections in a transaction,
    ``session()`` an ORM session in a write transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgresql = url.startswith("postgresql")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT}
            kwargs["pool_size"] = 40
            kwargs["max_overflow"] = 40
        elif self.is_postgresql:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 30
            kwargs["pool_pre_ping"] = True  # a restarted database must not fail a request
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise errors.ConfigError(
                f"[database] connection: {exc} (expected an SQLAlchemy URL such as "
                "sqlite:////var/lib/virtfleet/virtfleet.sqlite or "
                "postgresql+psycopg://user:password@host/virtfleet)"
            ) from None
        self._write_lock: threading.RLock | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            name = self.engine.url.database
            shared = bool(name) and name != ":memory:" and "mode=memory" not in url
            self._write_lock = _write_lock(str(self.engine.url)) if shared else threading.RLock()

    @classmethod
    def for_data_dir(cls, data_dir: str | pathlib.Path, url: str = "") -> Database:
        """The configured URL, else a SQLite file in ``data_dir``."""
        if url:
            return cls(url)
        path = pathlib.Path(data_dir).resolve()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.ConfigError(
                f"[DEFAULT] data_dir {str(path)!r}: cannot create the data directory: "
                f"{exc.strerror}"
            ) from None
        return cls(f"sqlite:///{path / 'virtfleet.sqlite'}")

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (deferred; sees a consistent snapshot)."""
        with self.engine.connect() as conn:
            if self.is_postgresql:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed on success and rolled back on error."""
        with self._writer_turn(), self.engine.connect() as conn:
            conn = conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                if self.is_postgresql:
                    conn.execute(_TAKE_WRITER_TURN, {"key": WRITER_LOCK_KEY})
                yield conn

    @contextlib.contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """This process's turn to write (SQLite); after the busy timeout without
        one, go on and let SQLite's own lock decide, as without this lock."""
        lock = self._write_lock
        if lock is None:
            yield
            return
        held = lock.acquire(timeout=BUSY_TIMEOUT)
        try:
            yield
        finally:
            if held:
                lock.release()

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
        """Bring the schema to the newest migration; servers starting at once take
        turns (PostgreSQL advisory lock), so the first migrates and the others find
        the schema current. ConfigError naming the database when it cannot be opened."""
        self.check_connection()
        if not self.is_postgresql:
            migrate.upgrade(self.engine)
            return
        with self.engine.connect() as conn:
            conn.execute(_TAKE_SESSION_LOCK, {"key": MIGRATION_LOCK_KEY})
            conn.commit()
            try:
                migrate.upgrade(self.engine)
            finally:
                conn.execute(_RELEASE_SESSION_LOCK, {"key": MIGRATION_LOCK_KEY})
                conn.commit()

    def check_connection(self) -> None:
        """ConfigError naming the database and why when it cannot be opened."""
        try:
            with self.engine.connect():
                pass
        except DBAPIError as exc:
            shown = self.engine.url.render_as_string(hide_password=True)
            raise errors.ConfigError(
                f"[database] connection {shown}: cannot open the database: "
                f"{exc.orig}{_sqlite_hint(self.engine.url.database) if self.is_sqlite else ''}"
            ) from None

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_hint(path: str | None) -> str:
    """Why a SQLite file cannot be opened, when the file system says."""
    if not path or path == ":memory:":
        return ""
    directory = pathlib.Path(path).parent
    if not directory.is_dir():
        return f" (directory {directory} does not exist)"
    if not os.access(directory, os.W_OK):
        return f" (directory {directory} is not writable)"
    return ""


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (below) emit BEGIN; pysqlite's own handling is unreliable.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
