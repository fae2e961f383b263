"""Property tests: the candidate engine against a brute-force reference.

The reference enumerates every combination of providers for every group of the query
(no pruning at all) and keeps those that satisfy Placement's rules as written in the
engine's module docstring; it is slow and obviously correct on small inputs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtfleet.placement.engine import find_candidates, find_roots
from virtfleet.placement.snapshot import (
    ProviderRow,
    Slot,
    Snapshot,
    TraitBits,
    Tree,
    build_tree,
    make_slot,
)
from virtfleet.placement.types import AllocationRequest, CandidateQuery, RequestGroup

RCS = ("VCPU", "MEMORY_MB", "CUSTOM_A")
TRAITS = ("T1", "T2", "T3")


@dataclass(frozen=True)
class P:
    """A provider of the generated world."""

    id: int
    parent: int | None
    root: int
    traits: frozenset[str]
    slots: dict[str, Slot]


def small(low: int, high: int) -> st.SearchStrategy[int]:
    """Mostly ``low`` (the common, satisfiable case), sometimes anything up to ``high``."""
    return st.one_of(st.just(low), st.integers(low, high))


@st.composite
def friendly_slots(draw: st.DrawFn) -> dict[str, Slot]:
    """Plenty of every class, unit constraints 1: most groups fit, so isolation,
    same_subtree and summed amounts decide."""
    result = {}
    for rc in draw(st.sets(st.sampled_from(RCS), min_size=2, max_size=3)):
        total = draw(st.integers(2, 5))
        result[rc] = make_slot(total, 0, 1, total, 1, 1.0, draw(st.integers(0, 1)))
    return result


@st.composite
def slots(draw: st.DrawFn) -> dict[str, Slot]:
    result = {}
    for rc in draw(st.sets(st.sampled_from(RCS), min_size=1, max_size=3)):
        total = draw(st.integers(1, 6))
        reserved = draw(small(0, min(total, 2)))
        min_unit = draw(small(1, 2))
        max_unit = draw(st.one_of(st.just(total), st.integers(min_unit, total + 1)))
        step = draw(small(1, 2))
        ratio = draw(st.sampled_from([1.0, 1.0, 1.5, 0.5]))
        capacity = int((total - reserved) * ratio)
        used = draw(small(0, max(capacity, 0)))
        result[rc] = make_slot(total, reserved, min_unit, max_unit, step, ratio, used)
    return result


@st.composite
def worlds(draw: st.DrawFn, friendly: bool | None = None) -> list[P]:
    providers: list[P] = []
    next_id = 1
    if friendly is None:
        friendly = draw(st.booleans())
    slot_strategy = friendly_slots() if friendly else slots()
    for _ in range(draw(st.integers(1, 2))):
        root = next_id
        members: list[int] = []
        for _ in range(draw(st.integers(1, 4))):
            pid = next_id
            next_id += 1
            parent = draw(st.sampled_from(members)) if members else None
            members.append(pid)
            traits = frozenset(draw(st.sets(st.sampled_from(TRAITS), max_size=3)))
            providers.append(P(pid, parent, root, traits, draw(slot_strategy)))
    return providers


@st.composite
def groups(draw: st.DrawFn, suffix: str, resourceless: bool) -> RequestGroup:
    resources = (
        {}
        if resourceless
        else draw(st.dictionaries(st.sampled_from(RCS), small(1, 3), min_size=1, max_size=2))
    )
    required = draw(
        st.one_of(
            st.just([]),
            st.just([]),
            st.lists(st.frozensets(st.sampled_from(TRAITS), min_size=1, max_size=2), max_size=2),
        )
    )
    forbidden = draw(
        st.one_of(
            st.just(frozenset()),
            st.just(frozenset()),
            st.frozensets(st.sampled_from(TRAITS), max_size=1),
        )
    )
    required = [any_of for any_of in required if not any_of <= forbidden]
    return RequestGroup(suffix, resources, required, forbidden)


@st.composite
def queries(draw: st.DrawFn) -> CandidateQuery:
    result: list[RequestGroup] = []
    if draw(st.booleans()):
        result.append(draw(groups("", False)))
    n_granular = draw(st.integers(0 if result else 1, 3))
    suffixes = [f"_{i}" for i in range(n_granular)]
    subtree: list[frozenset[str]] = []
    if len(suffixes) >= 2 and draw(st.booleans()):
        subtree.append(
            frozenset(draw(st.lists(st.sampled_from(suffixes), min_size=2, unique=True)))
        )
    in_subtree = set().union(*subtree) if subtree else set()
    for suffix in suffixes:
        resourceless = suffix in in_subtree and draw(st.booleans())
        result.append(draw(groups(suffix, resourceless)))
    if not any(g.resources for g in result):
        result[0] = RequestGroup(
            result[0].suffix, {"VCPU": 1}, result[0].required, result[0].forbidden
        )
    root_required = draw(
        st.one_of(
            st.just(frozenset()),
            st.just(frozenset()),
            st.frozensets(st.sampled_from(TRAITS), max_size=1),
        )
    )
    return CandidateQuery(
        groups=result,
        root_required=root_required,
        group_policy=draw(st.sampled_from(["none", "isolate"])),
        same_subtree=subtree,
    )


@st.composite
def granular_queries(draw: st.DrawFn) -> CandidateQuery:
    """Two to four one-class granular groups, no traits: isolation, same_subtree and
    summed amounts are what decide."""
    count = draw(st.integers(2, 4))
    suffixes = [f"_{i}" for i in range(count)]
    subtree: list[frozenset[str]] = []
    if draw(st.booleans()):
        subtree.append(
            frozenset(draw(st.lists(st.sampled_from(suffixes), min_size=2, unique=True)))
        )
    in_subtree = set().union(*subtree) if subtree else set()
    result = []
    for suffix in suffixes:
        if suffix in in_subtree and draw(st.integers(0, 3)) == 0:
            result.append(RequestGroup(suffix))
        else:
            result.append(RequestGroup(suffix, {draw(st.sampled_from(RCS)): draw(small(1, 2))}))
    if not any(g.resources for g in result):
        result[0] = RequestGroup(result[0].suffix, {"VCPU": 1})
    if draw(st.booleans()):
        result.insert(0, RequestGroup("", {draw(st.sampled_from(RCS)): 1}))
    return CandidateQuery(
        groups=result,
        group_policy=draw(st.sampled_from(["none", "isolate"])),
        same_subtree=subtree,
    )


def snapshot_of(world: list[P]) -> Snapshot:
    bits = TraitBits()
    trees: dict[int, Tree] = {}
    for root in {p.root for p in world}:
        rows = [
            ProviderRow(
                p.id, f"u{p.id}", f"n{p.id}", 0, p.parent, p.root, p.traits, frozenset(), p.slots
            )
            for p in world
            if p.root == root
        ]
        tree = build_tree(rows, bits)
        assert tree is not None
        trees[root] = tree
    return Snapshot(trees, bits, 0)


def ancestors(world: dict[int, P], pid: int) -> set[int]:
    found = {pid}
    while world[pid].parent is not None:
        pid = world[pid].parent  # type: ignore[assignment]  # checked just above
        found.add(pid)
    return found


def fits(slot: Slot | None, amount: int) -> bool:
    return (
        slot is not None
        and slot.min_unit <= amount <= slot.max_unit
        and amount % slot.step_size == 0
        and slot.used + amount <= slot.capacity
    )


def covers(traits: set[str] | frozenset[str], group: RequestGroup) -> bool:
    return all(traits & any_of for any_of in group.required) and not traits & group.forbidden


Key = tuple[frozenset[tuple[str, str, int]], frozenset[tuple[str, tuple[str, ...]]]]


def reference(world_list: list[P], query: CandidateQuery) -> set[Key]:
    world = {p.id: p for p in world_list}
    found: set[Key] = set()
    for root in sorted({p.root for p in world_list}):
        tree = [p for p in world_list if p.root == root]
        if not covers(
            world[root].traits, RequestGroup("", {}, [frozenset([t]) for t in query.root_required])
        ):
            continue
        per_group: list[list[tuple[tuple[tuple[int, str, int], ...], tuple[int, ...]]]] = []
        for group in query.groups:
            options: list[tuple[tuple[tuple[int, str, int], ...], tuple[int, ...]]] = []
            if group.suffix:
                for p in tree:
                    if covers(p.traits, group) and all(
                        fits(p.slots.get(rc), n) for rc, n in group.resources.items()
                    ):
                        options.append(
                            (tuple((p.id, rc, n) for rc, n in group.resources.items()), (p.id,))
                        )
            else:
                items = list(group.resources.items())
                for choice in itertools.product(tree, repeat=len(items)):
                    if not all(
                        fits(p.slots.get(rc), n) for p, (rc, n) in zip(choice, items, strict=True)
                    ):
                        continue
                    union: set[str] = set().union(*(p.traits for p in choice))
                    if any(p.traits & group.forbidden for p in choice):
                        continue
                    if not all(union & any_of for any_of in group.required):
                        continue
                    parts = tuple((p.id, rc, n) for p, (rc, n) in zip(choice, items, strict=True))
                    options.append((parts, tuple(sorted({p.id for p in choice}))))
            per_group.append(options)
        for combo in itertools.product(*per_group):
            granular = [c[1][0] for g, c in zip(query.groups, combo, strict=True) if g.suffix]
            if query.group_policy == "isolate" and len(set(granular)) != len(granular):
                continue
            by_suffix = {g.suffix: c[1] for g, c in zip(query.groups, combo, strict=True)}
            ok = True
            for suffixes in query.same_subtree:
                members = {by_suffix[s][0] for s in suffixes}
                if not any(all(m in ancestors(world, o) for o in members) for m in members):
                    ok = False
            if not ok:
                continue
            sums: dict[tuple[int, str], int] = {}
            for parts, _ in combo:
                for pid, rc, n in parts:
                    sums[(pid, rc)] = sums.get((pid, rc), 0) + n
            if any(
                world[pid].slots[rc].used + n > world[pid].slots[rc].capacity
                or n > world[pid].slots[rc].max_unit
                for (pid, rc), n in sums.items()
            ):
                continue
            allocations = frozenset((f"u{pid}", rc, n) for (pid, rc), n in sums.items())
            mappings = frozenset(
                (s, tuple(sorted(f"u{pid}" for pid in pids))) for s, pids in by_suffix.items()
            )
            found.add((allocations, mappings))
    return found


def key_of(request: AllocationRequest) -> Key:
    allocations = frozenset(
        (rp, rc, n) for rp, res in request.allocations.items() for rc, n in res.items()
    )
    mappings = frozenset((s, tuple(sorted(rps))) for s, rps in request.mappings.items())
    return allocations, mappings


def keys(requests: Iterable[AllocationRequest]) -> list[Key]:
    return [key_of(r) for r in requests]


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(worlds(), queries())
def test_engine_equals_brute_force(world: list[P], query: CandidateQuery) -> None:
    result = find_candidates(snapshot_of(world), query, max_results=100_000)
    got = keys(result.allocation_requests)
    assert len(got) == len(set(got)), "duplicate candidates"
    assert set(got) == reference(world, query)


@SETTINGS
@given(worlds(friendly=True), granular_queries())
def test_granular_groups_equal_brute_force(world: list[P], query: CandidateQuery) -> None:
    snap = snapshot_of(world)
    result = find_candidates(snap, query, max_results=100_000)
    got = keys(result.allocation_requests)
    assert len(got) == len(set(got)), "duplicate candidates"
    assert set(got) == reference(world, query)
    roots = {s.root_provider_uuid for s in result.provider_summaries.values()}
    assert set(find_roots(snap, query)) == roots


@SETTINGS
@given(st.one_of(worlds(), worlds(friendly=True)), st.one_of(queries(), granular_queries()))
def test_candidates_respect_every_rule(world: list[P], query: CandidateQuery) -> None:
    snap = snapshot_of(world)
    result = find_candidates(snap, query, max_results=100_000)
    by_uuid = {f"u{p.id}": p for p in world}
    for request in result.allocation_requests:
        for rp, resources in request.allocations.items():
            for rc, amount in resources.items():
                slot = by_uuid[rp].slots[rc]
                assert slot.used + amount <= int(
                    (slot.total - slot.reserved) * slot.allocation_ratio
                )
                assert slot.min_unit <= amount <= slot.max_unit
                assert amount % slot.step_size == 0
        granular = [rps[0] for s, rps in request.mappings.items() if s]
        if query.group_policy == "isolate":
            assert len(granular) == len(set(granular))
        for suffixes in query.same_subtree:
            members = {request.mappings[s][0] for s in suffixes}
            assert any(
                all(m in snap.node(o).ancestors for o in members)  # type: ignore[union-attr]
                for m in members
            )
        roots = {by_uuid[rp].root for rps in request.mappings.values() for rp in rps}
        assert len(roots) == 1
        for p in world:
            if p.root in roots:
                assert f"u{p.id}" in result.provider_summaries


@SETTINGS
@given(worlds(friendly=True), st.one_of(queries(), granular_queries()), st.integers(1, 4))
def test_limit_returns_a_prefix_sized_subset(
    world: list[P], query: CandidateQuery, limit: int
) -> None:
    snap = snapshot_of(world)
    everything = set(keys(find_candidates(snap, query, max_results=100_000).allocation_requests))
    limited_query = CandidateQuery(
        query.groups,
        query.root_required,
        query.root_forbidden,
        query.group_policy,
        query.same_subtree,
        limit,
    )
    limited = find_candidates(snap, limited_query)
    got = keys(limited.allocation_requests)
    assert len(got) == min(limit, len(everything))
    assert set(got) <= everything
    trees = {snap.node(rp).root_uuid for r in limited.allocation_requests for rp in r.allocations}  # type: ignore[union-attr]
    assert {s.root_provider_uuid for s in limited.provider_summaries.values()} <= trees | {
        snap.node(rp).root_uuid  # type: ignore[union-attr]
        for r in limited.allocation_requests
        for rps in r.mappings.values()
        for rp in rps
    }
