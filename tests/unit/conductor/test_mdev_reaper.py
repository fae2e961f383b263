"""The control plane releases mdev claims of migrations that ended or vanished."""

from __future__ import annotations

import datetime

from virtfleet.conductor.mdev_reaper import reap_mdev_claims
from virtfleet.db import mdev_claims
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database

HOUR = datetime.timedelta(hours=1)


def record(db: Database, status: str) -> str:
    created = records.create(
        db,
        instance_uuid="aaaaaaaa-0000-4000-8000-000000000001",
        source_compute="a",
        source_node="a",
        project_id="p",
        user_id="u",
    )
    records.update(db, created.id, status=status)
    return created.uuid


def test_claims_of_ended_or_unknown_migrations_are_released(db: Database) -> None:
    live = {status: record(db, status) for status in ("preparing", "running", "completed",
                                                       "failed", "cancelled", "error")}  # fmt: skip
    for n, migration in enumerate([*live.values(), "no-such-migration"]):
        mdev_claims.claim(db, "h", "i", migration, {f"s{n}": f"d{n}"}, {})
    reaped = reap_mdev_claims(db, HOUR)
    ended = [live[s] for s in ("completed", "failed", "cancelled", "error")]
    assert reaped == sorted([*ended, "no-such-migration"])
    assert {c.migration_uuid for c in mdev_claims.list_claims(db)} == {
        live["preparing"],
        live["running"],
    }
    assert reap_mdev_claims(db, HOUR) == []


def test_a_database_without_the_claims_table_has_nothing_to_reap(tmp_path: object) -> None:
    empty = Database(f"sqlite:///{tmp_path}/empty.sqlite")
    assert reap_mdev_claims(empty, HOUR) == []
