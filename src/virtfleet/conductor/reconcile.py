"""Which servers the database puts on a host whose guest the host lacks.

An agent tells the conductor, on start and at every report, the guests its host
has. A server recorded there that is settled (``active``, ``stopped`` or ``rescued``,
no task; a rescued guest is the server's own domain running from the rescue
definition, so its host lists it as any other) and no live migration involving the
host is in progress, but is not among them, is a candidate: the conductor asks the
agent about it once more (it may have been spawned since the list was taken) and
marks it ERROR when the domain is gone.
Servers in a task (building, deleting, migrating, a power action) are never
candidates: their workflow decides.
"""

from __future__ import annotations

from collections.abc import Collection

from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.servers import states as st

GUEST_GONE = "guest_gone"  # the transition (servers.states) that marks such a server


def is_settled(server: servers.Server) -> bool:
    """Whether no workflow owns the server, so that reconciliation may mark it."""
    refusal = st.refusal(GUEST_GONE, server.uuid, server.vm_state, server.task_state, server.host)
    return refusal is None


def missing_guests(db: Database, host: str, present: Collection[str]) -> list[servers.Server]:
    """Settled servers recorded on ``host`` whose guest is not in ``present`` and
    that no in-progress migration involving ``host`` concerns."""
    here = set(present)
    candidates = [
        s for s in servers.list_servers(db, host=host) if s.uuid not in here and is_settled(s)
    ]
    if not candidates:
        return []
    moving = {
        m.instance_uuid
        for m in records.list_migrations(db, in_progress=True)
        if host in (m.source_compute, m.dest_compute)
    }
    return [s for s in candidates if s.uuid not in moving]


def gone_message(host: str) -> str:
    """The fault of a server whose guest its host no longer has."""
    return f"guest domain not found on host {host}"
