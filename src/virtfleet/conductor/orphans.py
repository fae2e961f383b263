"""Which domains an agent finds on its host should not be there (orphans).

An agent lists the virtfleet domains it holds and the conductor answers, from the
servers and migration records, which of them belong nowhere on that host: the server
was deleted (e.g. locally, while the host was down) or is unknown, or it lives on
another host and no live migration involving this host is in progress. A guest that
a migration in progress involves (on either side), or whose server is still
``migrating``, is never an orphan.
"""

from __future__ import annotations

from virtfleet import errors
from virtfleet.agent.orphans import Orphan
from virtfleet.db import hosts, servers
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database
from virtfleet.servers import states as st


def find_orphans(db: Database, host: str, instance_uuids: list[str]) -> list[Orphan]:
    """The orphans among ``instance_uuids`` (domains found on ``host``), in order."""
    if not host:
        raise errors.InvalidInput("orphan check needs the asking host's name")
    recorded_here = {s.uuid for s in servers.list_servers(db, host=host)}  # the usual case
    found: list[Orphan] = []
    for uuid in instance_uuids:
        if uuid in recorded_here:
            continue
        orphan = _verdict(db, host, str(uuid))
        if orphan is not None:
            found.append(orphan)
    return found


def _verdict(db: Database, host: str, uuid: str) -> Orphan | None:
    migrations = records.list_migrations(db, instance_uuid=uuid)
    if any(m.in_progress and host in (m.source_compute, m.dest_compute) for m in migrations):
        return None  # mid-migration on this host: never touched
    own = tuple(m.uuid for m in migrations if m.dest_compute == host)
    try:
        server = servers.get(db, uuid, read_deleted=True)
    except errors.NotFound:
        return Orphan(uuid, "unknown", own_migrations=own)
    if server.deleted_at is not None:
        return Orphan(uuid, "deleted", own_migrations=own)
    if server.host == host or server.task_state == st.MIGRATING:
        return None  # here, or settling where a migration left it
    if server.host and _same_machine(db, host, server.host):
        return None  # two agents on one hypervisor would see each other's guests
    return Orphan(uuid, "elsewhere", recorded_host=server.host, own_migrations=own)


def _same_machine(db: Database, host: str, other: str) -> bool:
    """Whether both hosts report the same hypervisor hostname."""
    try:
        mine = hosts.get_host_by_name(db, host).hypervisor_hostname
        theirs = hosts.get_host_by_name(db, other).hypervisor_hostname
    except errors.NotFound:
        return False
    return mine == theirs
