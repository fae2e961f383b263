"""Property tests of the per-tree memo and of interchangeable ("twin") groups.

The memo must never change an answer: the same query asked again, with or without
limit, and after some trees were replaced, answers exactly what a memo-less search
answers. Twin groups (equal requests, as the spec's explicit slice form asks) must
give every distinct mapping the brute-force reference gives.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st
from tests.unit.placement.test_engine_properties import (
    RCS,
    SETTINGS,
    Key,
    P,
    granular_queries,
    keys,
    queries,
    reference,
    snapshot_of,
    worlds,
)

from virtfleet.placement.engine import find_candidates, find_roots
from virtfleet.placement.memo import FirstCandidates
from virtfleet.placement.snapshot import ProviderRow, Snapshot, build_tree, make_slot
from virtfleet.placement.types import CandidateQuery, RequestGroup

Answer = tuple[list[Key], set[str]]


def _answer(snap: Snapshot, query: CandidateQuery, memo: FirstCandidates | None = None) -> Answer:
    result = find_candidates(snap, query, max_results=100_000, memo=memo)
    return keys(result.allocation_requests), set(result.provider_summaries)


@SETTINGS
@given(
    st.one_of(worlds(), worlds(friendly=True)),
    st.one_of(queries(), granular_queries()),
    st.integers(1, 6),
)
def test_memo_never_changes_an_answer(world: list[P], query: CandidateQuery, limit: int) -> None:
    snap = snapshot_of(world)
    memo = FirstCandidates()
    limited = dataclasses.replace(query, limit=limit)
    expected = _answer(snap, query)
    expected_limited = _answer(snap, limited)
    # Limited first (the memo then knows only a prefix), then everything, twice.
    assert _answer(snap, limited, memo) == expected_limited
    assert _answer(snap, query, memo) == expected
    assert _answer(snap, query, memo) == expected
    assert _answer(snap, limited, memo) == expected_limited
    assert find_roots(snap, query, memo) == find_roots(snap, query)


@SETTINGS
@given(worlds(friendly=True), granular_queries(), st.data())
def test_memo_follows_replaced_trees(
    world: list[P], query: CandidateQuery, data: st.DataObject
) -> None:
    memo = FirstCandidates()
    before = snapshot_of(world)
    _answer(before, query, memo)
    # Use up some capacity of one provider: a new snapshot, one tree replaced.
    victim = data.draw(st.sampled_from(world))
    rc = data.draw(st.sampled_from(sorted(victim.slots)))
    slot = victim.slots[rc]
    changed = dict(victim.slots)
    changed[rc] = make_slot(
        slot.total, slot.reserved, 1, slot.max_unit, 1, slot.allocation_ratio, slot.capacity
    )
    world_after = [dataclasses.replace(p, slots=changed) if p is victim else p for p in world]
    rows = [
        ProviderRow(
            p.id, f"u{p.id}", f"n{p.id}", 0, p.parent, p.root, p.traits, frozenset(), p.slots
        )
        for p in world_after
        if p.root == victim.root
    ]
    patched = before.with_trees({victim.root: build_tree(rows, before.bits)}, 1)
    assert _answer(patched, query, memo) == _answer(patched, query)
    assert set(_answer(patched, query, memo)[0]) == reference(world_after, query)


def _slice_world() -> list[P]:
    """Two hosts: root -> 4-slice -> four 1-slices; host 2 has one 1-slice used."""
    world = []
    next_id = 1
    for host in range(2):
        root, four = next_id, next_id + 1
        world.append(P(root, None, root, frozenset(), {"VCPU": make_slot(8, 0, 1, 8, 1, 1.0, 0)}))
        world.append(P(four, root, root, frozenset(), {RCS[2]: make_slot(1, 0, 1, 1, 1, 1.0, 0)}))
        for k in range(4):
            pid = next_id + 2 + k
            used = 1 if host == 1 and k == 0 else 0
            world.append(
                P(pid, four, root, frozenset(), {"MEMORY_MB": make_slot(1, 0, 1, 1, 1, 1.0, used)})
            )
        next_id += 6
    return world


def test_twin_groups_list_every_permutation_and_only_on_free_hosts() -> None:
    ones = [RequestGroup(f"_G{i}", {"MEMORY_MB": 1}) for i in range(4)]
    query = CandidateQuery(
        groups=[RequestGroup("_S", {RCS[2]: 1}), *ones],
        group_policy="isolate",
        same_subtree=[frozenset({"_S", *(g.suffix for g in ones)})],
    )
    world = _slice_world()
    snap = snapshot_of(world)
    got = keys(find_candidates(snap, query).allocation_requests)
    assert len(got) == len(set(got)) == 24  # 4! mappings on host 1, none on host 2
    assert set(got) == reference(world, query)
    assert find_roots(snap, query) == ["u1"]
    limited = find_candidates(snap, dataclasses.replace(query, limit=5))
    assert len(limited.allocation_requests) == 5
    assert set(keys(limited.allocation_requests)) <= set(got)


def test_twins_without_isolate_may_share_a_provider_once_per_mapping() -> None:
    world = _slice_world()
    query = CandidateQuery(
        groups=[RequestGroup("_A", {"VCPU": 1}), RequestGroup("_B", {"VCPU": 1})],
        group_policy="none",
    )
    got = keys(find_candidates(snapshot_of(world), query).allocation_requests)
    assert len(got) == len(set(got)) == 2  # one per host: both groups on its root
    assert set(got) == reference(world, query)
