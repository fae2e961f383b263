"""One move in progress: its migration record, the server as it was when the move
started, and the host the user asked for (None: the scheduler picks)."""

from __future__ import annotations

import dataclasses

from virtfleet import errors
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.db.engine import Database


@dataclasses.dataclass(frozen=True)
class Move:
    """The fixed facts of one move; steps read them, none changes them."""

    migration: records.Migration
    server: servers.Server
    requested_host: str | None = None

    @property
    def source(self) -> str:
        """The host the guest leaves."""
        assert self.server.host is not None, "a move starts from a host"
        return self.server.host

    @property
    def migration_id(self) -> int:
        return self.migration.id


def load(db: Database, migration_id: int, requested_host: str | None) -> Move | None:
    """The move of migration ``migration_id`` as it starts; None (the record ended in
    error) when its server was deleted meanwhile."""
    migration = records.get(db, migration_id)
    try:
        server = servers.get(db, migration.instance_uuid)
    except errors.NotFound:
        records.update(db, migration_id, status=records.ERROR, error="the server was deleted")
        return None
    return Move(migration, server, requested_host)
