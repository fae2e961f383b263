"""Slices overlap their ancestors and descendants: a claim takes the chosen slice and
every slice below it.

A slice is a nested provider with one unit of a custom resource class; a slice's
children are the smaller slices carved from it. When an allocation request takes a
custom class from a nested (non-root) provider, :func:`expand` adds the whole custom
inventory of every provider below it, so no overlapping slice can be claimed while
this one is in use — and refuses (None) when one of those is already in use. Taking a
child first makes its ancestors unavailable the same way: expanding an ancestor would
need the child. Allocations on the root, or of standard classes, are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping

from virtfleet.placement.types import ProviderSummary

Allocations = Mapping[str, Mapping[str, int]]


def _is_custom(resource_class: str) -> bool:
    return resource_class.startswith("CUSTOM_")


def _takes_nested_custom(
    rp_uuid: str, resources: Mapping[str, int], summaries: Mapping[str, ProviderSummary]
) -> bool:
    summary = summaries.get(rp_uuid)
    nested = summary is not None and summary.parent_provider_uuid is not None
    return nested and any(_is_custom(rc) for rc in resources)


def needs_expansion(allocation: Allocations, summaries: Mapping[str, ProviderSummary]) -> bool:
    """Whether ``allocation`` takes a custom class from a nested provider."""
    return any(_takes_nested_custom(rp, res, summaries) for rp, res in allocation.items())


def children_index(summaries: Mapping[str, ProviderSummary]) -> dict[str, list[str]]:
    """Parent uuid -> child uuids, over the providers of the summaries."""
    children: dict[str, list[str]] = {}
    for uuid, summary in summaries.items():
        if summary.parent_provider_uuid is not None:
            children.setdefault(summary.parent_provider_uuid, []).append(uuid)
    return children


def expand(
    allocation: Allocations,
    summaries: Mapping[str, ProviderSummary],
    children: Mapping[str, list[str]],
) -> Allocations | None:
    """``allocation`` plus the custom inventory of every provider below each nested
    provider it takes a custom class from; None when any of those is in use."""
    expanded = {rp: dict(resources) for rp, resources in allocation.items()}
    for rp_uuid, resources in allocation.items():
        if not _takes_nested_custom(rp_uuid, resources, summaries):
            continue
        for below in _descendants(rp_uuid, children):
            below_summary = summaries[below]
            for rc, usage in below_summary.resources.items():
                if not _is_custom(rc):
                    continue
                if usage.used:
                    return None
                expanded.setdefault(below, {})[rc] = usage.capacity
    return expanded


def _descendants(uuid: str, children: Mapping[str, list[str]]) -> list[str]:
    found: list[str] = []
    stack = list(children.get(uuid, ()))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, ()))
    return found
