"""Trees in the same state share one search (a template renamed per tree).

A world and a renamed copy of it (same structure, inventories, usages and traits,
other ids and uuids) must give, for every query, exactly what the brute-force
reference gives for the two together; the copy's trees share their originals'
shapes; and every candidate's JSON says what its allocations and mappings say.
"""

from __future__ import annotations

import dataclasses
import json
import threading

from hypothesis import given
from hypothesis import strategies as st
from tests.unit.placement.test_engine_properties import (
    SETTINGS,
    P,
    granular_queries,
    keys,
    queries,
    reference,
    snapshot_of,
    worlds,
)
from tests.unit.placement.test_memo_properties import _slice_world

from virtfleet.placement.engine import find_candidates, find_roots
from virtfleet.placement.memo import FirstCandidates
from virtfleet.placement.snapshot import Snapshot
from virtfleet.placement.types import AllocationRequest, CandidateQuery, RequestGroup


def _renamed_copy(world: list[P], offset: int) -> list[P]:
    return [
        dataclasses.replace(
            p,
            id=p.id + offset,
            parent=None if p.parent is None else p.parent + offset,
            root=p.root + offset,
        )
        for p in world
    ]


def _as_json(request: AllocationRequest) -> object:
    return {
        "allocations": {rp: {"resources": dict(res)} for rp, res in request.allocations.items()},
        "mappings": {suffix: list(rps) for suffix, rps in request.mappings.items()},
    }


@SETTINGS
@given(st.one_of(worlds(), worlds(friendly=True)), st.one_of(queries(), granular_queries()))
def test_copies_of_a_tree_share_its_search_and_stay_exact(
    world: list[P], query: CandidateQuery
) -> None:
    offset = 1000
    doubled = world + _renamed_copy(world, offset)
    snap = snapshot_of(doubled)
    for root in {p.root for p in world}:
        assert snap.trees[root].shape is snap.trees[root + offset].shape
    result = find_candidates(snap, query, max_results=100_000)
    got = keys(result.allocation_requests)
    assert len(got) == len(set(got)), "duplicate candidates"
    assert set(got) == reference(doubled, query)
    for request in result.allocation_requests:
        assert json.loads(request.json) == _as_json(request)
    # Both copies of a tree are found, or neither.
    roots = find_roots(snap, query)
    assert len(roots) % 2 == 0
    assert {f"u{int(r[1:]) % offset}" for r in roots} == {r for r in roots if int(r[1:]) < offset}


@SETTINGS
@given(worlds(friendly=True), granular_queries(), st.integers(1, 6))
def test_a_shared_template_answers_limits_like_a_fresh_search(
    world: list[P], query: CandidateQuery, limit: int
) -> None:
    doubled = world + _renamed_copy(world, 1000)
    snap = snapshot_of(doubled)
    memo = FirstCandidates()
    limited = dataclasses.replace(query, limit=limit)
    fresh_limited = keys(find_candidates(snap, limited).allocation_requests)
    fresh_all = keys(find_candidates(snap, query, max_results=100_000).allocation_requests)
    # A small answer first grows the templates a little; later answers extend them.
    assert keys(find_candidates(snap, limited, memo=memo).allocation_requests) == fresh_limited
    everything = find_candidates(snap, query, max_results=100_000, memo=memo)
    assert keys(everything.allocation_requests) == fresh_all
    assert keys(find_candidates(snap, limited, memo=memo).allocation_requests) == fresh_limited


def _root_of(snap: Snapshot, request: AllocationRequest) -> str:
    node = snap.node(next(iter(request.allocations)))
    assert node is not None
    return node.root_uuid


@SETTINGS
@given(worlds(friendly=True), st.one_of(queries(), granular_queries()), st.integers(1, 12))
def test_limited_answers_take_turns(world: list[P], query: CandidateQuery, limit: int) -> None:
    doubled = world + _renamed_copy(world, 1000)
    snap = snapshot_of(doubled)
    everything = find_candidates(snap, query, max_results=100_000).allocation_requests
    available: dict[str, int] = {}
    for request in everything:
        root = _root_of(snap, request)
        available[root] = available.get(root, 0) + 1
    # Turn by turn, trees in root order, each giving one more while it has one.
    expected: list[str] = []
    turn = 0
    while len(expected) < min(limit, len(everything)):
        for root in available:
            if available[root] > turn and len(expected) < limit:
                expected.append(root)
        turn += 1
    limited = find_candidates(snap, dataclasses.replace(query, limit=limit), memo=FirstCandidates())
    assert [_root_of(snap, r) for r in limited.allocation_requests] == expected


def test_threads_sharing_one_memo_get_the_answers_of_a_fresh_search() -> None:
    # Twenty copies of a two-host slice world: templates shared by many trees, grown
    # by several threads at once (limits of every size), never changing an answer.
    world: list[P] = []
    base = _slice_world()
    for copy in range(20):
        world += _renamed_copy(base, copy * 100)
    snap = snapshot_of(world)
    ones = [RequestGroup(f"_G{i}", {"MEMORY_MB": 1}) for i in range(4)]
    query = CandidateQuery(
        groups=[RequestGroup("_S", {"CUSTOM_A": 1}), *ones],
        group_policy="isolate",
        same_subtree=[frozenset({"_S", *(g.suffix for g in ones)})],
    )
    limits = [1, 7, 20, 33, 100, 250, 479, 480, None]
    expected = {
        limit: keys(
            find_candidates(snap, dataclasses.replace(query, limit=limit)).allocation_requests
        )
        for limit in limits
    }
    memo = FirstCandidates()
    failures: list[str] = []

    def ask(seed: int) -> None:
        for k in range(30):
            limit = limits[(seed * 7 + k) % len(limits)]
            got = find_candidates(snap, dataclasses.replace(query, limit=limit), memo=memo)
            if keys(got.allocation_requests) != expected[limit]:
                failures.append(f"limit {limit}")

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(expected[None]) == 20 * 24  # 4! mappings on each free host
