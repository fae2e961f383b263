"""Server groups and the other placement hints, as the scheduler reads them.

:func:`resolve` turns a request's stored hints into the :class:`~.hints.Affinity` of
one scheduling pass (where the group's other members are now; the hosts of the
same/different-host servers); the filters (hard policies) and weighers (soft ones)
of :mod:`.filters` and :mod:`.weighers` read it. :func:`violation` is the check made
once a host is chosen and recorded, for boots and for every move's destination: two
requests that passed the filters at the same moment cannot both keep a host their
group's hard policy forbids (each records its host before it checks the others').
"""

from __future__ import annotations

import contextlib
import dataclasses

from virtfleet import errors
from virtfleet.db import server_groups as group_db
from virtfleet.db.engine import Database
from virtfleet.scheduler import hints as hint_lib
from virtfleet.scheduler.hints import Affinity
from virtfleet.scheduler.resource_request import RequestSpec


def _group_affinity(group: group_db.Group, leave_out: str | None, db: Database) -> Affinity:
    members = group_db.member_hosts(db, group.uuid, leave_out=leave_out)
    return Affinity(
        group_uuid=group.uuid,
        group_name=group.name,
        policy=group.policy,
        max_per_host=int(group.rules.get("max_server_per_host", 1)),
        member_hosts=tuple(sorted(members.items())),
    )


def resolve(db: Database, spec: RequestSpec) -> RequestSpec:
    """``spec`` with its hints resolved (itself when it has none or they already are).
    A group deleted since the boot constrains nothing."""
    hints = spec.hints
    if not hints or spec.affinity is not None:
        return spec
    affinity = Affinity()
    if hints.group:
        with contextlib.suppress(errors.NotFound):
            affinity = _group_affinity(group_db.get(db, hints.group), hints.member, db)
    if hints.same_host:
        found = group_db.hosts_of(db, hints.same_host)
        affinity = dataclasses.replace(
            affinity, same_hosts=frozenset(h for h in found.values() if h)
        )
    if hints.different_host:
        found = group_db.hosts_of(db, hints.different_host)
        affinity = dataclasses.replace(
            affinity, different_hosts=frozenset(h for h in found.values() if h)
        )
    return dataclasses.replace(spec, affinity=affinity)


def violation(db: Database, server_uuid: str, host: str) -> str | None:
    """Why ``host`` breaks the hard policy of the server's group, counting every other
    member where it is now (None when it does not, or the server is in no group or
    a soft one). Call it after the server's new host is recorded; a move's
    destination check calls it with the destination."""
    group = group_db.group_of(db, server_uuid)
    if group is None or group.policy not in (hint_lib.AFFINITY, hint_lib.ANTI_AFFINITY):
        return None
    affinity = _group_affinity(group, server_uuid, db)
    on_host = affinity.members_on(host)
    if group.policy == hint_lib.ANTI_AFFINITY and on_host >= affinity.max_per_host:
        return (
            f"{affinity.describe} forbids host {host}: it already holds {on_host} "
            f"other member{'s' if on_host != 1 else ''}"
        )
    if group.policy == hint_lib.AFFINITY and affinity.member_hosts and not on_host:
        holders = ", ".join(h for h, _ in affinity.member_hosts)
        return f"{affinity.describe} keeps its members on {holders}, not {host}"
    return None
