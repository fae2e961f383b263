"""A move to a named host, checked against the server's group before it is begun.

A live migration forced to a host (``force``, microversions 2.30 to 2.67) or any move
that names its destination would, in Nova, bypass or only later meet the scheduler's
group filters; virtfleet refuses a destination that breaks the hard policy of the
server's group (affinity, anti-affinity with ``max_server_per_host``) at once, with
the reason, so that a forced move can never split or crowd a group.
"""

from __future__ import annotations

from virtfleet.api.wsgi import HTTPError
from virtfleet.db.engine import Database
from virtfleet.scheduler import server_groups


def refuse_breaking_group(db: Database, server_id: str, host: str) -> None:
    """400 naming the group and its policy when ``host`` breaks it for the server."""
    conflict = server_groups.violation(db, server_id, host)
    if conflict is not None:
        raise HTTPError(400, f"Migration pre-check error: {conflict}.")
