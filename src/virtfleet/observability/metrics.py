"""The metrics every virtfleet process records, in one registry of its own.

Counters and histograms are recorded where things happen (the API's middleware, the
scheduler, the instance actions, the typed RPC clients); gauges of fleet state
(placement usage and capacity, heartbeat ages) are collected when a scraper asks, by
collectors that the control plane registers with its ``/metrics`` application. Each
process exposes its own: a control server its API, scheduling and RPC metrics, an
agent its RPC metrics (``[metrics] listen``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

#: The process's own metrics (not prometheus_client's global default registry).
REGISTRY = CollectorRegistry(auto_describe=True)

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
_COUNTS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)

API_REQUESTS = Histogram(
    "virtfleet_api_request_duration_seconds",
    "API requests by route template and status, with their latency (_count is the "
    "number of requests).",
    ("method", "route", "status"),
    buckets=_FAST,
    registry=REGISTRY,
)
SCHEDULER_DECISIONS = Histogram(
    "virtfleet_scheduler_decision_duration_seconds",
    "Scheduling decisions (placement query, filters, weighers) by outcome: found, no_valid_host.",
    ("outcome",),
    buckets=_FAST,
    registry=REGISTRY,
)
SCHEDULER_CLAIMS = Histogram(
    "virtfleet_scheduler_claim_duration_seconds",
    "Claims of a selected host in placement by outcome: claimed, lost (a concurrent "
    "claim took the room).",
    ("outcome",),
    buckets=_FAST,
    registry=REGISTRY,
)
SCHEDULER_CANDIDATES = Histogram(
    "virtfleet_scheduler_candidates",
    "Hosts placement offered per candidate query (before filters).",
    buckets=_COUNTS,
    registry=REGISTRY,
)
SERVER_ACTIONS = Counter(
    "virtfleet_server_actions",
    "Completed server actions (create, delete, stop, start, reboot, live-migration, ...) "
    "by outcome: success, error.",
    ("action", "outcome"),
    registry=REGISTRY,
)
SERVER_ACTION_DURATION = Histogram(
    "virtfleet_server_action_duration_seconds",
    "How long the control plane's work on a server action took, by action and outcome.",
    ("action", "outcome"),
    buckets=_SLOW,
    registry=REGISTRY,
)
RPC_CALLS = Histogram(
    "virtfleet_rpc_call_duration_seconds",
    "RPC calls this process made, by topic, method and outcome (ok, or the error class "
    "that came back).",
    ("topic", "method", "outcome"),
    buckets=_FAST,
    registry=REGISTRY,
)
RPC_CASTS = Counter(
    "virtfleet_rpc_casts",
    "RPC casts (no reply awaited) this process sent, by topic and method.",
    ("topic", "method"),
    registry=REGISTRY,
)


class Timer:
    """Seconds since it was made (monotonic clock)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start


#: A scrape-time source of metric families, already in the text exposition format.
TextSource = Callable[[], bytes]


def label_value(value: str) -> str:
    """``value`` escaped for a label value of the text format (\\, \", newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def family(name: str, help_text: str, kind: str, samples: Iterable[bytes]) -> bytes:
    """One metric family in the text format: HELP, TYPE, then ``samples`` (each a
    complete ``name{labels} value`` line with its newline)."""
    head = f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n".encode()
    return head + b"".join(samples)


def render(sources: Iterable[TextSource] = ()) -> bytes:
    """The Prometheus text exposition of the process's metrics, then of ``sources``
    (each asked now)."""
    return generate_latest(REGISTRY) + b"".join(source() for source in sources)
