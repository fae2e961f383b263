"""Membership of the control plane: each running server registers under a name unique
to that start and beats its heart; a server whose heartbeat is older than the
``dead_after`` its peers use is dead, and its work may be taken over.

Heartbeats are compared with the database's rows only (each server writes its own
clock), so the servers' clocks must agree to well within ``dead_after`` (NTP).
"""

from __future__ import annotations

import datetime
import os
import socket
import uuid

from sqlalchemy import Table, delete, insert, select, update

from virtfleet.db.engine import Database
from virtfleet.db.models.compute import utcnow
from virtfleet.db.models.control_servers import ControlServer

TABLE: Table = ControlServer.__table__  # type: ignore[assignment]  # declarative: a Table


def new_name() -> str:
    """A name for this start of a server: host, process and a random part (a
    restarted server is a new member; its former self is dead)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def register(db: Database, name: str) -> None:
    """Join (or rejoin) with a fresh heartbeat."""
    now = utcnow()
    with db.write() as conn:
        conn.execute(delete(TABLE).where(TABLE.c.name == name))
        conn.execute(insert(TABLE).values(name=name, started_at=now, heartbeat_at=now))


def heartbeat(db: Database, name: str) -> None:
    """Say ``name`` is alive now (registers it again if its row was removed)."""
    with db.write() as conn:
        done = conn.execute(update(TABLE).where(TABLE.c.name == name).values(heartbeat_at=utcnow()))
        if done.rowcount == 0:
            now = utcnow()
            conn.execute(insert(TABLE).values(name=name, started_at=now, heartbeat_at=now))


def leave(db: Database, name: str) -> None:
    """A clean stop: ``name`` is no longer a member (its work is finished)."""
    with db.write() as conn:
        conn.execute(delete(TABLE).where(TABLE.c.name == name))


def live(db: Database, dead_after: float) -> frozenset[str]:
    """Names of the members that beat within the last ``dead_after`` seconds."""
    cutoff = utcnow() - datetime.timedelta(seconds=dead_after)
    with db.read() as conn:
        rows = conn.execute(select(TABLE.c.name).where(TABLE.c.heartbeat_at >= cutoff))
        return frozenset(name for (name,) in rows)


def members(db: Database) -> dict[str, datetime.datetime]:
    """Every registered member and its last heartbeat."""
    with db.read() as conn:
        return dict(conn.execute(select(TABLE.c.name, TABLE.c.heartbeat_at)).tuples().all())
