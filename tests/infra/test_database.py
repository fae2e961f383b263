"""The database handle: SQLite transactions that never lose an update."""

from __future__ import annotations

import pathlib
import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, update

from virtfleet.db.engine import Database

META = MetaData()
COUNTER = Table("counter", META, Column("id", Integer, primary_key=True), Column("n", Integer))


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Database:
    database = Database.for_data_dir(tmp_path)
    META.create_all(database.engine)
    with database.write() as conn:
        conn.execute(COUNTER.insert().values(id=1, n=0))
    return database


def test_sqlite_file_in_data_dir_with_wal(db: Database, tmp_path: pathlib.Path) -> None:
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
