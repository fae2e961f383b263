"""Console tokens: short-lived, single-use capabilities for one guest console.

:func:`issue` makes a random token (URL-safe, 256 bits), stores only its SHA-256 with
the instance, the console type and the agent's relay it leads to, and returns the
token. The console proxy calls :func:`consume`, which lets a token through once,
before it expires; the admin API reads a live token with :func:`show`. Expired rows
are purged whenever a token is issued, and a server's tokens go with the server
(:func:`delete_for_instance`).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.console_tokens import ConsoleAuthToken

TOKEN_BYTES = 32
TABLE: sa.Table = ConsoleAuthToken.__table__  # type: ignore[assignment]  # a Table


class TokenRefused(errors.VirtfleetError):
    """The token is unknown (or forged), expired, or was used already."""


@dataclass(frozen=True)
class ConsoleToken:
    """What a token opens: console ``console_type`` of ``instance_uuid`` through the
    relay at ``host``:``port`` that wants ``internal_access_path`` (its secret) first."""

    instance_uuid: str
    console_type: str
    host: str
    port: int
    internal_access_path: str
    expires_at: datetime.datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def issue(
    db: Database,
    instance_uuid: str,
    console_type: str,
    host: str,
    port: int,
    secret: str,
    ttl: float,
    now: datetime.datetime | None = None,
) -> str:
    """A new token for the console, valid ``ttl`` seconds; the plain token is returned
    once and never stored."""
    now = now or _now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with db.write() as conn:
        conn.execute(sa.delete(TABLE).where(TABLE.c.expires_at < now))
        conn.execute(
            sa.insert(TABLE).values(
                token_hash=token_hash(token),
                instance_uuid=instance_uuid,
                console_type=console_type,
                host=host,
                port=port,
                internal_access_path=secret,
                created_at=now,
                expires_at=now + datetime.timedelta(seconds=ttl),
                used_at=None,
            )
        )
    return token


def _row_to_token(row: sa.Row[tuple[object, ...]]) -> ConsoleToken:
    mapping = row._mapping
    return ConsoleToken(
        instance_uuid=str(mapping["instance_uuid"]),
        console_type=str(mapping["console_type"]),
        host=str(mapping["host"]),
        port=int(str(mapping["port"])),
        internal_access_path=str(mapping["internal_access_path"]),
        expires_at=mapping["expires_at"],
    )


def _refusal(row: sa.Row[tuple[object, ...]] | None, now: datetime.datetime) -> str | None:
    """Why the token of ``row`` may not be used now (None: it may)."""
    if row is None:
        return "unknown console token"
    if row._mapping["expires_at"] <= now:
        return "console token expired"
    if row._mapping["used_at"] is not None:
        return "console token already used"
    return None


def consume(db: Database, token: str, now: datetime.datetime | None = None) -> ConsoleToken:
    """Let ``token`` through once: TokenRefused naming why not (unknown, expired,
    used)."""
    now = now or _now()
    with db.write() as conn:
        row = conn.execute(sa.select(TABLE).where(TABLE.c.token_hash == token_hash(token))).first()
        problem = _refusal(row, now)
        if problem is not None or row is None:
            raise TokenRefused(problem or "unknown console token")
        conn.execute(sa.update(TABLE).where(TABLE.c.id == row._mapping["id"]).values(used_at=now))
        return _row_to_token(row)


def show(db: Database, token: str, now: datetime.datetime | None = None) -> ConsoleToken:
    """The console ``token`` opens, if it still may (NotFound otherwise)."""
    now = now or _now()
    with db.read() as conn:
        row = conn.execute(sa.select(TABLE).where(TABLE.c.token_hash == token_hash(token))).first()
    problem = _refusal(row, now)
    if problem is not None or row is None:
        raise errors.NotFound("The token has expired or is invalid.")
    return _row_to_token(row)


def delete_for_instance(db: Database, instance_uuid: str) -> int:
    """Drop every token of a server (it is being deleted); how many there were."""
    with db.write() as conn:
        result = conn.execute(sa.delete(TABLE).where(TABLE.c.instance_uuid == instance_uuid))
        return int(result.rowcount or 0)
