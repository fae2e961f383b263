"""A project's usage, counted on the connection of the transaction that admits more.

Compute usage is counted from the project's servers (not deleted): ``servers`` is
every one of them, whatever its state (as Nova counts instances); the resource classes
are their flavors' resources, except for servers that failed to build and hold no host
(their placement claim was given back) and shelved-offloaded servers (they hold no
host until an unshelve claims one again). A server that moves (live migration) counts
once: its flavor, not the two allocations placement holds while it moves. A server
whose resize has not been confirmed or reverted yet counts the larger of its old and
new flavor for each resource (a revert gives the old one back, a confirm keeps the
new one), so that racing resizes and boots cannot pass a limit together.

Key pairs are counted per user (``server_key_pairs``), as Nova counts them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from virtfleet.db.migration_records import IN_PROGRESS, RESIZE
from virtfleet.db.models.compute import Server as ServerRow
from virtfleet.db.models.keypairs import KeyPair as KeyPairRow
from virtfleet.db.models.migrations import Migration as MigrationRow
from virtfleet.quota.resources import KEY_PAIRS, SERVERS, server_resources

#: vm_states whose servers hold no host and count no resources (their server does).
NOT_HOLDING = frozenset({"shelved_offloaded"})


def _resizing(conn: Connection, project_id: str) -> dict[str, dict[str, int]]:
    """Server uuid -> the larger of old and new flavor resources, for the project's
    resizes that are still in progress (not confirmed, reverted or failed)."""
    query = select(MigrationRow.instance_uuid, MigrationRow.flavors).where(
        MigrationRow.project_id == project_id,
        MigrationRow.migration_type == RESIZE,
        MigrationRow.status.in_(sorted(IN_PROGRESS)),
    )
    found: dict[str, dict[str, int]] = {}
    for row in conn.execute(query):
        sides: Mapping[str, Any] = row.flavors or {}
        old = server_resources((sides.get("old") or {}).get("flavor") or {})
        new = server_resources((sides.get("new") or {}).get("flavor") or {})
        found[row.instance_uuid] = {
            name: max(old.get(name, 0), new.get(name, 0)) for name in {*old, *new}
        }
    return found


def compute_usage(conn: Connection, project_id: str, names: Collection[str]) -> dict[str, int]:
    """Resource name -> what ``project_id``'s servers use, for each of ``names``."""
    query = select(ServerRow.uuid, ServerRow.flavor, ServerRow.vm_state, ServerRow.host).where(
        ServerRow.project_id == project_id, ServerRow.deleted_at.is_(None)
    )
    usage = dict.fromkeys(names, 0)
    resizing = _resizing(conn, project_id) if set(names) - {SERVERS} else {}
    for row in conn.execute(query):
        if SERVERS in usage:
            usage[SERVERS] += 1
        if (row.vm_state == "error" and row.host is None) or row.vm_state in NOT_HOLDING:
            continue
        held = resizing.get(row.uuid) or server_resources(row.flavor)
        for name, amount in held.items():
            if name in usage:
                usage[name] += amount
    return usage


def key_pair_usage(conn: Connection, user_id: str, names: Collection[str]) -> dict[str, int]:
    """Resource name -> what ``user_id`` uses: ``server_key_pairs``, its key pairs."""
    usage = dict.fromkeys(names, 0)
    if KEY_PAIRS in usage:
        query = select(func.count()).select_from(KeyPairRow).where(KeyPairRow.user_id == user_id)
        usage[KEY_PAIRS] = int(conn.execute(query).scalar_one())
    return usage
