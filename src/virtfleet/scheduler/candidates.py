"""Placement's allocation candidates, regrouped per host (root provider)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from virtfleet.placement.types import AllocationRequest, CandidatesResult, ResourceUsage
from virtfleet.scheduler import slices

Allocations = Mapping[str, Mapping[str, int]]
NO_USAGE: Mapping[str, ResourceUsage] = {}


@dataclasses.dataclass
class HostOptions:
    """Every allocation request placement offered on one host, in placement's order
    (slices expanded, see :mod:`.slices`), how many were dropped because they overlap a
    slice in use, and the capacity and usage per resource class of the root provider."""

    root_uuid: str
    allocation_requests: list[Allocations]
    usage: Mapping[str, ResourceUsage]
    overlapping: int = 0


def root_of(request: AllocationRequest, result: CandidatesResult) -> str | None:
    """The root provider uuid of an allocation request (all its providers share one)."""
    for rp_uuid in request.allocations:
        summary = result.provider_summaries.get(rp_uuid)
        return summary.root_provider_uuid if summary else rp_uuid
    return None


def by_host(result: CandidatesResult) -> dict[str, HostOptions]:
    """Candidates grouped by root provider uuid, hosts in placement's order."""
    summaries = result.provider_summaries
    children: dict[str, list[str]] | None = None
    hosts: dict[str, HostOptions] = {}
    for request in result.allocation_requests:
        root = root_of(request, result)
        if root is None:
            continue
        options = hosts.get(root)
        if options is None:
            summary = summaries.get(root)
            usage = summary.resources if summary else NO_USAGE
            options = hosts[root] = HostOptions(root, [], usage)
        allocation: Allocations | None = request.allocations
        if slices.needs_expansion(request.allocations, summaries):
            if children is None:
                children = slices.children_index(summaries)
            allocation = slices.expand(request.allocations, summaries, children)
        if allocation is None:
            options.overlapping += 1
        else:
            options.allocation_requests.append(allocation)
    return hosts


def hosts_in(result: CandidatesResult) -> set[str]:
    """Root provider uuids of every candidate."""
    return {root for r in result.allocation_requests if (root := root_of(r, result))}
