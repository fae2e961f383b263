"""Persisted mdev claims: all-or-nothing, unique per host and mdev, released, reaped."""

from __future__ import annotations

import datetime
import threading

import pytest
from sqlalchemy import update

from virtfleet import errors
from virtfleet.db import mdev_claims
from virtfleet.db.engine import Database
from virtfleet.db.models.mdev_claims import MdevClaim as ClaimRow

INSTANCE = "0b8b5a5e-1111-4c4c-8d8d-000000000001"
TYPES = {"src-a": "nvidia-222", "src-b": "nvidia-222"}


def test_claim_holds_every_mdev_of_the_mapping(db: Database) -> None:
    held = mdev_claims.claim(db, "h", INSTANCE, "m1", {"src-a": "dst-1", "src-b": "dst-2"}, TYPES)
    assert [(c.source_mdev_uuid, c.mdev_uuid, c.mdev_type, c.state) for c in held] == [
        ("src-a", "dst-1", "nvidia-222", "claimed"),
        ("src-b", "dst-2", "nvidia-222", "claimed"),
    ]
    assert mdev_claims.claimed_uuids(db, "h") == {"dst-1", "dst-2"}
    assert mdev_claims.claimed_uuids(db, "other") == set()


def test_a_held_mdev_refuses_another_migration_and_nothing_is_half_claimed(db: Database) -> None:
    mdev_claims.claim(db, "h", INSTANCE, "m1", {"src-a": "dst-1"}, TYPES)
    with pytest.raises(errors.Conflict, match="dst-1 on h is already claimed by migration m1"):
        mdev_claims.claim(db, "h", "other", "m2", {"src-x": "dst-2", "src-y": "dst-1"}, {})
    assert mdev_claims.for_migration(db, "m2") == []
    # the same uuid on another host is another device
    mdev_claims.claim(db, "h2", "other", "m2", {"src-y": "dst-1"}, {})


def test_claiming_again_for_the_same_migration_is_idempotent(db: Database) -> None:
    mdev_claims.claim(db, "h", INSTANCE, "m1", {"src-a": "dst-1"}, TYPES)
    again = mdev_claims.claim(db, "h", INSTANCE, "m1", {"src-a": "dst-1"}, TYPES)
    assert [c.mdev_uuid for c in again] == ["dst-1"]


def test_one_destination_mdev_for_two_sources_is_refused(db: Database) -> None:
    with pytest.raises(errors.InvalidInput, match="one mdev claimed twice"):
        mdev_claims.claim(db, "h", INSTANCE, "m1", {"src-a": "dst-1", "src-b": "dst-1"}, TYPES)


def test_release_and_state(db: Database) -> None:
    mdev_claims.claim(db, "h", INSTANCE, "m1", {"src-a": "dst-1"}, TYPES)
    assert mdev_claims.set_state(db, "m1", "migrating") == 1
    assert mdev_claims.for_migration(db, "m1")[0].state == "migrating"
    with pytest.raises(errors.InvalidInput, match="'done'"):
        mdev_claims.set_state(db, "m1", "done")
    assert mdev_claims.release(db, "m1") == 1
    assert mdev_claims.release(db, "m1") == 0
    assert mdev_claims.claimed_uuids(db, "h") == set()


def test_reap_releases_finished_and_old_claims_only(db: Database) -> None:
    mdev_claims.claim(db, "h", INSTANCE, "finished", {"s1": "d1"}, {})
    mdev_claims.claim(db, "h", INSTANCE, "old", {"s2": "d2"}, {})
    mdev_claims.claim(db, "h", INSTANCE, "running", {"s3": "d3"}, {})
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)
    with db.write() as conn:
        conn.execute(
            update(ClaimRow).where(ClaimRow.migration_uuid == "old").values(created_at=long_ago)
        )
    reaped = mdev_claims.reap(db, lambda m: m == "finished", datetime.timedelta(hours=1), "h")
    assert sorted(c.migration_uuid for c in reaped) == ["finished", "old"]
    assert mdev_claims.claimed_uuids(db, "h") == {"d3"}


def test_two_racing_claims_for_the_last_mdev_one_wins(db: Database) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def race(migration: str) -> None:
        barrier.wait()
        try:
            mdev_claims.claim(db, "h", migration, migration, {"src": "last"}, {})
            outcomes.append("won")
        except errors.Conflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=race, args=(m,)) for m in ("m1", "m2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert len(mdev_claims.list_claims(db, "h")) == 1
