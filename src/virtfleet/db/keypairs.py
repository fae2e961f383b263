"""Key pair repository: one user's key pairs by name (names are unique per user)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.keypairs import KeyPair as KeyPairRow


@dataclass(frozen=True)
class KeyPair:
    id: int
    user_id: str
    name: str
    type: str
    public_key: str
    fingerprint: str
    created_at: datetime.datetime


def _record(row: KeyPairRow) -> KeyPair:
    return KeyPair(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        type=row.type,
        public_key=row.public_key,
        fingerprint=row.fingerprint,
        created_at=row.created_at,
    )


def _not_found(user_id: str, name: str) -> errors.NotFound:
    return errors.NotFound(f"Keypair {name} not found for user {user_id}")


def create(
    db: Database,
    *,
    user_id: str,
    name: str,
    key_type: str,
    public_key: str,
    fingerprint: str,
    admit: Callable[[Connection], None] | None = None,
) -> KeyPair:
    """A new key pair; Conflict when the user already has one of that name. ``admit``
    runs first in the same write transaction (the key pair quota check)."""
    row = KeyPairRow(
        user_id=user_id, name=name, type=key_type, public_key=public_key, fingerprint=fingerprint
    )
    try:
        with db.session() as session:
            if admit is not None:
                admit(session.connection())
            session.add(row)
            session.flush()
            return _record(row)
    except IntegrityError:
        raise errors.Conflict(f"Key pair '{name}' already exists.") from None


def get(db: Database, user_id: str, name: str) -> KeyPair:
    """The user's key pair ``name``; NotFound otherwise."""
    with db.read_session() as session:
        row = session.scalars(
            select(KeyPairRow).where(KeyPairRow.user_id == user_id, KeyPairRow.name == name)
        ).first()
        if row is None:
            raise _not_found(user_id, name)
        return _record(row)


def list_for(db: Database, user_id: str) -> list[KeyPair]:
    """The user's key pairs, by name."""
    with db.read_session() as session:
        query = select(KeyPairRow).where(KeyPairRow.user_id == user_id).order_by(KeyPairRow.name)
        return [_record(row) for row in session.scalars(query)]


def count(db: Database, user_id: str) -> int:
    return len(list_for(db, user_id))


def delete(db: Database, user_id: str, name: str) -> None:
    """Remove the user's key pair ``name``; NotFound when there is none."""
    with db.session() as session:
        row = session.scalars(
            select(KeyPairRow).where(KeyPairRow.user_id == user_id, KeyPairRow.name == name)
        ).first()
        if row is None:
            raise _not_found(user_id, name)
        session.delete(row)
