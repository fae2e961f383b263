"""A fingerprint of what a request may change (the database, placement included), so
a test can assert that a refused request changed nothing."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import select

from support.fuzz_cloud import FuzzCloud
from virtfleet.db import models
from virtfleet.db.base import Base

#: Written by the agents' periodic reports and the change log, not by requests.
BACKGROUND_TABLES = frozenset({"compute_nodes", "placement_changes"})
BACKGROUND_COLUMNS = frozenset({"updated_at", "power_state", "heartbeat_at"})


def fingerprint(cloud: FuzzCloud) -> str:
    """A digest of every row a request could change."""
    assert cloud.embedded.control is not None
    models.metadata()
    digest = hashlib.sha256()
    with cloud.embedded.control.db.read() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in BACKGROUND_TABLES:
                continue
            columns = [c for c in table.columns if c.name not in BACKGROUND_COLUMNS]
            rows = conn.execute(select(*columns)).all()
            digest.update(f"{table.name}:{sorted(map(repr, rows))}".encode())
    return digest.hexdigest()


def settle(cloud: FuzzCloud, timeout: float = 10.0) -> None:
    """Wait until no server has a task under way (an accepted action finishes in the
    background and would otherwise change the next fingerprint)."""
    from virtfleet.db import servers

    assert cloud.embedded.control is not None
    deadline = time.monotonic() + timeout
    while any(s.task_state for s in servers.list_servers(cloud.embedded.control.db)):
        assert time.monotonic() < deadline, "servers still busy"
        time.sleep(0.02)
