"""Control-plane reaping of mdev claims kept in the shared database.

A claim belongs to one live migration; once that migration's record has ended
(completed, failed, cancelled, error) or no longer exists, the claim is stale whatever
happened to the agents. Claims older than ``[devices] mdev_claim_max_age`` go too.
Agents reap their own claims at start (:meth:`VgpuHost.reap_stale`); this covers the
database the agents share with the control plane while everything keeps running.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from sqlalchemy import inspect

from virtfleet import errors
from virtfleet.db import mdev_claims
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database

ENDED = frozenset({records.COMPLETED, records.FAILED, records.CANCELLED, records.ERROR})


def migration_ended(db: Database) -> Callable[[str], bool]:
    """Whether the migration with a uuid has ended (or is unknown)."""

    def ended(migration_uuid: str) -> bool:
        try:
            return records.get(db, migration_uuid).status in ENDED
        except errors.NotFound:
            return True

    return ended


def reap_mdev_claims(db: Database, max_age: datetime.timedelta) -> list[str]:
    """Release stale claims; returns their migration uuids (none when the database
    has no claims table yet)."""
    if not inspect(db.engine).has_table("mdev_claims"):
        return []
    reaped = mdev_claims.reap(db, migration_ended(db), max_age)
    return sorted({c.migration_uuid for c in reaped})
