"""The database handle: transactions that never lose an update (SQLite and PostgreSQL),
and schema migrations that several servers may run at once."""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, update

from support.databases import database_url, fresh_database
from virtfleet.db import migrate
from virtfleet.db.engine import Database

META = MetaData()
COUNTER = Table("counter", META, Column("id", Integer, primary_key=True), Column("n", Integer))


@pytest.fixture
def db(tmp_path: pathlib.Path, db_backend: str) -> Iterator[Database]:
    with fresh_database(db_backend, tmp_path) as database:
        META.create_all(database.engine)
        with database.write() as conn:
            conn.execute(COUNTER.insert().values(id=1, n=0))
        yield database


def test_sqlite_file_in_data_dir_with_wal(tmp_path: pathlib.Path) -> None:
    db = Database.for_data_dir(tmp_path)
    META.create_all(db.engine)
    assert (tmp_path / "virtfleet.sqlite").exists()
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_concurrent_read_modify_write_loses_nothing(db: Database) -> None:
    def bump() -> None:
        for _ in range(25):
            with db.write() as conn:
                n = conn.execute(select(COUNTER.c.n)).scalar_one()
                conn.execute(update(COUNTER).values(n=n + 1))

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.read() as conn:
        assert conn.execute(select(COUNTER.c.n)).scalar_one() == 200


def test_write_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute(update(COUNTER).values(n=99))
        raise RuntimeError("abort")
    with db.read() as conn:
        assert conn.execute(select(COUNTER.c.n)).scalar_one() == 0


@pytest.mark.postgresql
def test_servers_migrating_one_new_database_at_once_all_start(tmp_path: pathlib.Path) -> None:
    """Four servers upgrading one empty PostgreSQL database at the same moment: one
    migrates, the others wait for its lock and find the schema current."""
    with database_url("postgresql", tmp_path) as url:
        databases = [Database(url) for _ in range(4)]
        barrier = threading.Barrier(len(databases))
        failures: list[BaseException] = []

        def upgrade(db: Database) -> None:
            barrier.wait()
            try:
                db.upgrade()
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=upgrade, args=(db,)) for db in databases]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        with databases[0].read() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        assert [v for (v,) in version] == [migrate.head_revision()]
        for db in databases:
            db.dispose()


@pytest.mark.postgresql
def test_postgresql_reads_see_one_snapshot(tmp_path: pathlib.Path) -> None:
    """A read transaction on PostgreSQL sees one snapshot, as on SQLite: a write
    committed in between is not seen until the next read."""
    with fresh_database("postgresql", tmp_path) as db:
        META.create_all(db.engine)
        with db.write() as conn:
            conn.execute(COUNTER.insert().values(id=1, n=0))
        with db.read() as conn:
            first = conn.execute(select(COUNTER.c.n)).scalar_one()
            with db.write() as other:
                other.execute(update(COUNTER).values(n=5))
            again = conn.execute(select(COUNTER.c.n)).scalar_one()
        assert (first, again) == (0, 0)
        with db.read() as conn:
            assert conn.execute(select(COUNTER.c.n)).scalar_one() == 5
