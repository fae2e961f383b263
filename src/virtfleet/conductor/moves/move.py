"""One move in progress: its migration record, the server as it was when the move
started, and the host the user asked for (None: the scheduler picks)."""

from __future__ import annotations

import dataclasses

from virtfleet.db import migration_records as records
from virtfleet.db import servers


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
