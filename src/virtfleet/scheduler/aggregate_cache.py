"""The scheduler's copy of the host aggregates, current at every decision.

Every decision needs the aggregates (availability zones, tenant and isolated
aggregates: :mod:`.prefilters`), and they change rarely. Reading them all per decision
cost about 2 ms; instead :class:`AggregateCache` keeps them with the generation they
were read at, and each decision reads only the ``aggregates`` row of
``cache_generations`` (:func:`virtfleet.db.aggregates.generation`), which every
aggregate write bumps in its own transaction — on whichever server it was made. So a
decision that starts after an aggregate change was committed, on this server or any
other sharing the database, schedules with that change; there is no staleness window
to configure.

The generation is read first and the aggregates after it, in one read transaction:
what is cached is at least as new as its generation, so a change committed between
the two reads is loaded again by the next decision rather than missed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from virtfleet.db import aggregates as aggregate_db
from virtfleet.db.aggregates import Aggregate
from virtfleet.db.engine import Database


class AggregateCache:
    """Host aggregates as committed, re-read only when their generation moved."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._cached: tuple[int, tuple[Aggregate, ...]] | None = None

    def current(self) -> Sequence[Aggregate]:
        """Every aggregate, including every change committed before this call."""
        with self._db.read() as conn:
            generation = aggregate_db.generation(conn)
            cached = self._cached
            if cached is not None and cached[0] == generation:
                return cached[1]
            aggregates = tuple(aggregate_db.list_in(conn))
        with self._lock:
            held = self._cached
            if held is None or held[0] <= generation:
                self._cached = (generation, aggregates)
        return aggregates
