"""A project's usage, counted on the connection of the transaction that admits more.

Compute usage is counted from the project's servers (not deleted): ``servers`` is
every one of them, whatever its state (as Nova counts instances); the resource classes
are their flavors' resources, except for servers that failed to build and hold no host
(their placement claim was given back) and shelved-offloaded servers (they hold no
host until an unshelve claims one again). A server that moves (live migration) counts
once: its flavor, not the two allocations placement holds while it moves.

Key pairs are counted per user (``server_key_pairs``), as Nova counts them.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, func, select

from virtfleet.db.models.compute import Server as ServerRow
from virtfleet.db.models.keypairs import KeyPair as KeyPairRow
from virtfleet.quota.resources import KEY_PAIRS, SERVERS, server_resources

#: vm_states whose servers hold no host and count no resources (their server does).
NOT_HOLDING = frozenset({"shelved_offloaded"})


def compute_usage(conn: Connection, project_id: str, names: Collection[str]) -> dict[str, int]:
    """Resource name -> what ``project_id``'s servers use, for each of ``names``."""
    query = select(ServerRow.flavor, ServerRow.vm_state, ServerRow.host).where(
        ServerRow.project_id == project_id, ServerRow.deleted_at.is_(None)
    )
    usage = dict.fromkeys(names, 0)
    for row in conn.execute(query):
        if SERVERS in usage:
            usage[SERVERS] += 1
        if (row.vm_state == "error" and row.host is None) or row.vm_state in NOT_HOLDING:
            continue
        for name, amount in server_resources(row.flavor).items():
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
