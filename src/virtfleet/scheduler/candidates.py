"""Placement's allocation candidates, regrouped per host (root provider)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from virtfleet.placement.types import AllocationRequest, CandidatesResult

Allocations = Mapping[str, Mapping[str, int]]


@dataclasses.dataclass
class HostOptions:
    """Every allocation request placement offered on one host, in placement's order,
    and the free amount per resource class of the host's root provider."""

    root_uuid: str
    allocation_requests: list[Allocations]
    free: dict[str, int]


def root_of(request: AllocationRequest, result: CandidatesResult) -> str | None:
    """The root provider uuid of an allocation request (all its providers share one)."""
    for rp_uuid in request.allocations:
        summary = result.provider_summaries.get(rp_uuid)
        return summary.root_provider_uuid if summary else rp_uuid
    return None


def by_host(result: CandidatesResult) -> dict[str, HostOptions]:
    """Candidates grouped by root provider uuid, hosts in placement's order."""
    hosts: dict[str, HostOptions] = {}
    for request in result.allocation_requests:
        root = root_of(request, result)
        if root is None:
            continue
        options = hosts.get(root)
        if options is None:
            options = hosts[root] = HostOptions(root, [], _free(result, root))
        options.allocation_requests.append(request.allocations)
    return hosts


def _free(result: CandidatesResult, root: str) -> dict[str, int]:
    summary = result.provider_summaries.get(root)
    if summary is None:
        return {}
    return {rc: max(0, u.capacity - u.used) for rc, u in summary.resources.items()}


def hosts_in(result: CandidatesResult) -> set[str]:
    """Root provider uuids of every candidate."""
    return {root for r in result.allocation_requests if (root := root_of(r, result))}
