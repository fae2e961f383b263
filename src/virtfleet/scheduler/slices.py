"""Slices overlap their ancestors and descendants: a claim takes the chosen slice and
every slice below it.

A slice is a nested provider with one unit of a custom resource class; a slice's
children are the smaller slices carved from it. When an allocation request takes a
custom class from a nested (non-root) provider, :func:`expand` adds the whole custom
inventory of every provider below it, so no overlapping slice can be claimed while
this one is in use — and refuses (None) when one of those is already in use. Taking a
child first makes its ancestors unavailable the same way: expanding an ancestor would
need the child. Allocations on the root, or of standard classes, are left as they are.

Slices pack (:func:`packing_key`): of a host's slices, the one whose enclosing slices
are most used is offered first. The spec's explicit form (the chosen class plus the
classes below it, :func:`narrow_explicit_form`), which placement cannot serve as given,
is asked as the chosen class only, keeping the expanded claims that take exactly the
amounts it lists (the scheduler does this only when the request as given finds no
candidate, so other combinations of custom classes are asked as they are).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from virtfleet.placement.types import ProviderSummary
from virtfleet.scheduler.constraints import UNNAMED, Constraints

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


def subtree_usage(
    summaries: Mapping[str, ProviderSummary], children: Mapping[str, list[str]]
) -> dict[str, int]:
    """Provider uuid -> units of custom classes in use in its subtree (itself included)."""
    usage: dict[str, int] = {}

    def used(uuid: str) -> int:
        if uuid not in usage:
            own = sum(u.used for rc, u in summaries[uuid].resources.items() if _is_custom(rc))
            usage[uuid] = own + sum(used(child) for child in children.get(uuid, ()))
        return usage[uuid]

    for uuid in summaries:
        used(uuid)
    return usage


def packing_key(
    allocation: Allocations, summaries: Mapping[str, ProviderSummary], usage: Mapping[str, int]
) -> tuple[int, ...]:
    """Sort key of a (not yet expanded) slice allocation: slices whose enclosing slices
    are already most used come first (nearest enclosing slice first), so that large
    slices stay free as long as possible."""
    key: list[int] = []
    for rp_uuid, resources in allocation.items():
        if not _takes_nested_custom(rp_uuid, resources, summaries):
            continue
        parent = summaries[rp_uuid].parent_provider_uuid
        while parent is not None and parent in summaries:
            if summaries[parent].parent_provider_uuid is None:
                break  # the compute node itself
            key.append(-usage.get(parent, 0))
            parent = summaries[parent].parent_provider_uuid
    return tuple(key)


def custom_totals(allocation: Allocations) -> dict[str, int]:
    """Amount per custom resource class over all providers of ``allocation``."""
    totals: dict[str, int] = {}
    for resources in allocation.values():
        for rc, amount in resources.items():
            if _is_custom(rc):
                totals[rc] = totals.get(rc, 0) + amount
    return totals


def explicit_form(resources: Mapping[str, int]) -> tuple[str, dict[str, int]] | None:
    """The spec's explicit form: one unit of the chosen slice's class plus the slices
    below it (``CUSTOM_SLICE_4=1`` + ``CUSTOM_SLICE_1=4``). Returns (the class to ask
    placement for, the custom totals the expanded claim must match), or None when
    ``resources`` asks for fewer than two custom classes or not exactly one of them
    with one unit."""
    custom = {rc: n for rc, n in resources.items() if _is_custom(rc) and n}
    singles = [rc for rc, n in custom.items() if n == 1]
    if len(custom) < 2 or len(singles) != 1:
        return None
    return singles[0], custom


def narrow_explicit_form(constraints: Constraints) -> tuple[Constraints, dict[str, int] | None]:
    """Constraints to ask placement with, and the custom totals an expanded claim must
    match (None: any); only the unnamed group's explicit form is narrowed."""
    group = constraints.group(UNNAMED)
    form = explicit_form(group.resources) if group is not None else None
    if group is None or form is None:
        return constraints, None
    chosen, totals = form
    resources = {rc: n for rc, n in group.resources.items() if rc == chosen or not _is_custom(rc)}
    narrowed = dataclasses.replace(group, resources=resources)
    groups = tuple(narrowed if g is group else g for g in constraints.groups)
    return dataclasses.replace(constraints, groups=groups), totals
