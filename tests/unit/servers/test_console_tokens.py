"""Console tokens: random, stored hashed, single use, expiring, bound to one console."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.servers import console_tokens

UUID = "11111111-2222-4333-8444-555555555555"
NOW = datetime.datetime(2026, 12, 6, 23, 0, 0)


def issue(db: Database, ttl: float = 600, now: datetime.datetime = NOW) -> str:
    return console_tokens.issue(db, UUID, "serial", "192.0.2.7", 40123, "ab" * 16, ttl, now)


def test_a_token_opens_its_console_once(db: Database) -> None:
    token = issue(db)
    assert len(token) >= 40
    shown = console_tokens.show(db, token, NOW)
    assert (shown.instance_uuid, shown.console_type, shown.host, shown.port) == (
        UUID,
        "serial",
        "192.0.2.7",
        40123,
    )
    granted = console_tokens.consume(db, token, NOW)
    assert granted.internal_access_path == "ab" * 16
    with pytest.raises(console_tokens.TokenRefused, match="already used"):
        console_tokens.consume(db, token, NOW)
    with pytest.raises(errors.NotFound, match="expired or is invalid"):
        console_tokens.show(db, token, NOW)


def test_only_the_hash_is_stored(db: Database) -> None:
    token = issue(db)
    with db.read() as conn:
        stored = conn.execute(sa.select(console_tokens.TABLE.c.token_hash)).scalars().all()
    assert stored == [console_tokens.token_hash(token)] and token not in stored


def test_an_expired_token_is_refused(db: Database) -> None:
    token = issue(db, ttl=30)
    later = NOW + datetime.timedelta(seconds=31)
    with pytest.raises(console_tokens.TokenRefused, match="expired"):
        console_tokens.consume(db, token, later)
    with pytest.raises(errors.NotFound):
        console_tokens.show(db, token, later)


def test_forged_and_altered_tokens_are_refused(db: Database) -> None:
    token = issue(db)
    for forged in (
        "x" * len(token),
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        "",
        token + "=",
    ):
        with pytest.raises(console_tokens.TokenRefused, match="unknown console token"):
            console_tokens.consume(db, forged, NOW)
    assert console_tokens.consume(db, token, NOW).port == 40123  # the real one still works


def test_tokens_are_random(db: Database) -> None:
    assert len({issue(db) for _ in range(20)}) == 20


def test_expired_rows_are_purged_on_issue_and_a_server_takes_its_tokens(db: Database) -> None:
    issue(db, ttl=1)
    issue(db, ttl=1000, now=NOW + datetime.timedelta(seconds=5))
    with db.read() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(console_tokens.TABLE)).scalar() == 1
        )
    assert console_tokens.delete_for_instance(db, UUID) == 1
