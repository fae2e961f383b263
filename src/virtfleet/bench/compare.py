"""What two engines' ``GET /allocation_candidates`` answers have in common.

Both answers are Placement API JSON (microversion 1.14+, so provider summaries name
each provider's root). The hosts of an answer are the roots of the providers its
allocation requests use; an allocation request is compared as the set of
(provider, class, amount) it allocates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Body = Mapping[str, Any]
AllocationKey = frozenset[tuple[str, str, int]]


def hosts_of(body: Body) -> frozenset[str]:
    """Root provider uuids of the hosts the candidates are on."""
    summaries = body["provider_summaries"]
    return frozenset(
        summaries[rp]["root_provider_uuid"]
        for request in body["allocation_requests"]
        for rp in request["allocations"]
    )


def allocation_keys(body: Body) -> frozenset[AllocationKey]:
    """Each allocation request as a set of (provider uuid, class, amount)."""
    return frozenset(
        frozenset(
            (rp, rc, int(amount))
            for rp, alloc in request["allocations"].items()
            for rc, amount in alloc["resources"].items()
        )
        for request in body["allocation_requests"]
    )


@dataclass(frozen=True)
class Answer:
    """What one engine said: its hosts and allocations, and whether that is all it
    found (False when it stopped at a cap or a limit, or did not answer)."""

    hosts: frozenset[str]
    allocations: frozenset[AllocationKey]
    complete: bool

    @classmethod
    def of(cls, body: Body, complete: bool) -> Answer:
        return cls(hosts_of(body), allocation_keys(body), complete)


def verdict(
    ours: Answer,
    theirs: Answer | None,
    ours_full: Answer | None = None,
    theirs_full: Answer | None = None,
) -> str:
    """``same N hosts`` (and whether the allocations are the same), or what differs.

    Host sets are compared for equality when both answers are complete. A partial
    answer (a limit or cap reached) is checked against the other engine's complete
    answer to the same request without limit (``*_full``), when there is one: every
    host it names must be one the other engine also found."""
    if theirs is None:
        return "no answer from Placement"
    if ours.complete and theirs.complete:
        if ours.hosts != theirs.hosts:
            return (
                f"DIFFERENT hosts: {len(ours.hosts - theirs.hosts)} only virtfleet, "
                f"{len(theirs.hosts - ours.hosts)} only Placement"
            )
        if ours.allocations == theirs.allocations:
            return f"same {len(ours.hosts)} hosts, same allocations"
        return f"same {len(ours.hosts)} hosts, allocations differ"
    our_all = next((a for a in (ours, ours_full) if a is not None and a.complete), None)
    their_all = next((a for a in (theirs, theirs_full) if a is not None and a.complete), None)
    if our_all is None or their_all is None:
        return "partial answer, no complete answer to check it against"
    strays = len(ours.hosts - their_all.hosts) + len(theirs.hosts - our_all.hosts)
    if strays:
        return f"DIFFERENT hosts: {strays} hosts of a partial answer the other engine rejects"
    return "partial answer; every host in it is one both engines found"
