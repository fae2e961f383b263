"""Gauges of fleet state, read when a scraper asks: placement usage and capacity per
provider and resource class from the placement engine's in-memory snapshot, and each
host's heartbeat age and up state from the hosts table.

On 10,000 hosts these are tens of thousands of samples, more than prometheus_client's
generic rendering does quickly, so they are written in the text format directly. The
placement lines of a provider tree are rendered once and kept with the tree: snapshot
trees are immutable and replaced on every change, so a scrape renders only the trees
that changed since the last one (docs/observability.md has the numbers).
"""

from __future__ import annotations

import datetime
from typing import Protocol

from virtfleet.db import hosts
from virtfleet.db.engine import Database
from virtfleet.observability.metrics import TextSource, family, label_value
from virtfleet.placement.snapshot import Snapshot, Tree

CAPACITY = "virtfleet_placement_capacity"
USAGE = "virtfleet_placement_usage"
PROVIDERS = "virtfleet_placement_providers"
HEARTBEAT_AGE = "virtfleet_agent_heartbeat_age_seconds"
AGENT_UP = "virtfleet_agent_up"


class Snapshots(Protocol):
    """What has placement's current snapshot (the placement service)."""

    def snapshot(self) -> Snapshot: ...


def _tree_samples(tree: Tree) -> tuple[bytes, bytes]:
    """The capacity and the usage lines of every provider of ``tree`` (kept with it)."""
    capacity, usage = tree.rendered.get(CAPACITY), tree.rendered.get(USAGE)
    if capacity is None or usage is None:
        cap_lines: list[str] = []
        use_lines: list[str] = []
        for node in tree.nodes:
            provider = label_value(node.name)
            for rc, slot in node.slots.items():
                labels = f'{{provider="{provider}",resource_class="{label_value(rc)}"}}'
                cap_lines.append(f"{CAPACITY}{labels} {slot.capacity}\n")
                use_lines.append(f"{USAGE}{labels} {slot.used}\n")
        capacity = tree.rendered[CAPACITY] = "".join(cap_lines).encode()
        usage = tree.rendered[USAGE] = "".join(use_lines).encode()
    return capacity, usage


def placement_source(placement: Snapshots) -> TextSource:
    """``virtfleet_placement_capacity`` / ``_usage`` per provider and resource class
    (capacity is (total - reserved) x allocation ratio, as placement checks claims), and
    ``virtfleet_placement_providers``."""

    def render() -> bytes:
        trees = list(placement.snapshot().trees.values())
        rendered = [_tree_samples(tree) for tree in trees]
        providers = sum(len(tree.nodes) for tree in trees)
        return b"".join(
            (
                family(
                    CAPACITY,
                    "What placement lets be allocated of a resource class on a provider.",
                    "gauge",
                    (capacity for capacity, _ in rendered),
                ),
                family(
                    USAGE,
                    "What is allocated of a resource class on a provider.",
                    "gauge",
                    (usage for _, usage in rendered),
                ),
                family(
                    PROVIDERS,
                    "Resource providers in placement.",
                    "gauge",
                    [f"{PROVIDERS} {providers}\n".encode()],
                ),
            )
        )

    return render


def heartbeat_source(db: Database, down_after: float) -> TextSource:
    """``virtfleet_agent_heartbeat_age_seconds``: seconds since each host's agent last
    reported to the control plane; ``virtfleet_agent_up``: 1 while the host counts as
    up, 0 once it is down (silent for ``down_after`` seconds, marked down by a
    conductor or forced down by the operator: the rule the Compute API's
    hypervisor and service states follow)."""

    def render() -> bytes:
        now = datetime.datetime.now(datetime.UTC)
        ages, ups = [], []
        for beat in hosts.heartbeats(db):
            labels = f'{{host="{label_value(beat.host)}"}}'
            age = max(0.0, (now - beat.updated_at).total_seconds())
            ages.append(f"{HEARTBEAT_AGE}{labels} {age:.3f}\n".encode())
            ups.append(f"{AGENT_UP}{labels} {0 if beat.is_down(down_after, now) else 1}\n".encode())
        return family(
            HEARTBEAT_AGE, "Seconds since the host's agent last reported.", "gauge", ages
        ) + family(AGENT_UP, "1 while the host's agent counts as up, else 0.", "gauge", ups)

    return render
