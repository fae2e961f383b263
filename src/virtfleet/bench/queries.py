"""Timing the allocation-candidate rows against one Placement API endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from virtfleet.bench.compare import Answer
from virtfleet.bench.shapes import Row
from virtfleet.bench.stats import median, ms, percentile
from virtfleet.bench.web import Client, QueryTimeoutError


@dataclass
class RowResult:
    """One row on one engine: latency samples (ms) and what the last answer held."""

    name: str
    samples_ms: list[float] = field(default_factory=list)
    candidates: int | None = None
    hosts: int | None = None
    timed_out: bool = False
    error: str | None = None
    answer: Answer | None = None

    @property
    def median_ms(self) -> float | None:
        return round(median(self.samples_ms), 2) if self.samples_ms else None

    @property
    def p90_ms(self) -> float | None:
        return round(percentile(self.samples_ms, 90), 2) if self.samples_ms else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "median_ms": self.median_ms,
            "p90_ms": self.p90_ms,
            "samples_ms": self.samples_ms,
            "candidates": self.candidates,
            "hosts": self.hosts,
            "timed_out": self.timed_out,
            "error": self.error,
        }


#: Whether an answer to ``row`` with ``candidates`` results is everything the engine found.
Completeness = Callable[[Row, int], bool]


def measure(
    client: Client,
    row: Row,
    repeat: int,
    complete: Completeness,
    on_timeout: Callable[[], None] = lambda: None,
) -> RowResult:
    """GET the row ``repeat`` times, timing each; the first answer is parsed. A
    time-out ends the row (and calls ``on_timeout``, e.g. to restart the server)."""
    result = RowResult(row.name)
    for attempt in range(repeat):
        try:
            response = client.get(row.path)
        except QueryTimeoutError as exc:
            result.timed_out, result.error = True, str(exc)
            on_timeout()
            return result
        if response.status != 200:
            result.error = f"HTTP {response.status}: {response.body[:300].decode(errors='replace')}"
            return result
        result.samples_ms.append(ms(response.seconds))
        if attempt == 0:
            body = json.loads(response.body)
            result.candidates = len(body["allocation_requests"])
            result.answer = Answer.of(body, complete(row, result.candidates))
            result.hosts = len(result.answer.hosts)
    return result


def measure_all(
    client: Client,
    rows: Sequence[Row],
    repeat: int,
    complete: Completeness,
    on_timeout: Callable[[], None] = lambda: None,
) -> list[RowResult]:
    return [measure(client, row, repeat, complete, on_timeout) for row in rows]
