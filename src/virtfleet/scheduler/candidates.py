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


def by_host(
    result: CandidatesResult, expected_custom: Mapping[str, int] | None = None
) -> dict[str, HostOptions]:
    """Candidates grouped by root provider uuid, hosts in placement's order; slice
    claims expanded and packed, and (with ``expected_custom``, the spec's explicit
    form) kept only when they take exactly those custom amounts."""
    summaries = result.provider_summaries
    children: dict[str, list[str]] | None = None
    usage: dict[str, int] = {}
    hosts: dict[str, HostOptions] = {}
    packing: dict[str, list[tuple[tuple[int, ...], Allocations]]] = {}
    for request in result.allocation_requests:
        allocations = request.allocations
        if len(allocations) == 1 and expected_custom is None:
            # The common case (a plain flavor on a compute node): all on the root.
            (rp_uuid,) = allocations
            summary = summaries.get(rp_uuid)
            if summary is not None and summary.root_provider_uuid == rp_uuid:
                options = hosts.get(rp_uuid)
                if options is None:
                    options = hosts[rp_uuid] = HostOptions(rp_uuid, [], summary.resources)
                packing.setdefault(rp_uuid, []).append(((), allocations))
                continue
        root = root_of(request, result)
        if root is None:
            continue
        options = hosts.get(root)
        if options is None:
            summary = summaries.get(root)
            root_usage = summary.resources if summary else NO_USAGE
            options = hosts[root] = HostOptions(root, [], root_usage)
        allocation: Allocations | None = request.allocations
        key: tuple[int, ...] = ()
        only_root = len(request.allocations) == 1 and root in request.allocations
        if not only_root and slices.needs_expansion(request.allocations, summaries):
            if children is None:
                children = slices.children_index(summaries)
                usage = slices.subtree_usage(summaries, children)
            allocation = slices.expand(request.allocations, summaries, children)
            key = slices.packing_key(request.allocations, summaries, usage)
        if (
            allocation is not None
            and expected_custom is not None
            and slices.custom_totals(allocation) != dict(expected_custom)
        ):
            allocation = None  # the explicit form names another shape
        if allocation is None:
            options.overlapping += 1
        else:
            packing.setdefault(root, []).append((key, allocation))
    for root, keyed in packing.items():
        if len(keyed) > 1:
            keyed.sort(key=lambda pair: pair[0])  # stable: placement's order among equals
        hosts[root].allocation_requests.extend(allocation for _, allocation in keyed)
    return hosts


def hosts_in(result: CandidatesResult) -> set[str]:
    """Root provider uuids of every candidate."""
    return {root for r in result.allocation_requests if (root := root_of(r, result))}
