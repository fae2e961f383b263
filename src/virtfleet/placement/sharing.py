"""Allocation candidates with sharing providers (Placement's ``MISC_SHARES_VIA_AGGREGATE``).

A provider with that trait shares its inventory with every provider tree that has a
provider in one of its aggregates (a shared DISK_GB pool in an aggregate with the
compute nodes). Semantics are the Placement reference's:

* a candidate is *anchored* in one tree; besides that tree's providers it may use the
  sharing providers anchored there (:meth:`Snapshot.anchored`);
* the unsuffixed group takes each class from one provider of the tree or from such a
  sharing provider; its required traits are met by the union of the providers used,
  none of which may have a forbidden trait; a sharing provider counts only its own
  aggregates for ``member_of``, and neither it nor the anchor's root may be in a
  forbidden aggregate;
* a suffixed group is satisfied by one provider, which may be a sharing provider;
* ``group_policy=isolate`` and ``same_subtree`` treat a sharing provider as the
  provider it is (it is in no subtree of the anchor's tree);
* ``root_required`` applies to the anchor's root; ``in_tree`` restricts a group to the
  providers of that tree (the unsuffixed group then to that tree alone);
* an allocation request that several anchors produce alike (one made of sharing
  providers only) is listed once; summaries cover the trees of the providers used.

When no sharing provider holds a requested class (the usual fleet: none at all) the
query goes to :func:`virtfleet.placement.engine.find_candidates` unchanged, so the
fast path pays only a set lookup.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from virtfleet.placement import engine
from virtfleet.placement.memo import FirstCandidates
from virtfleet.placement.snapshot import Node, Snapshot, Tree
from virtfleet.placement.types import AllocationRequest, CandidateQuery, CandidatesResult


def find_candidates(
    snapshot: Snapshot,
    query: CandidateQuery,
    max_results: int = engine.DEFAULT_MAX_RESULTS,
    memo: FirstCandidates | None = None,
) -> CandidatesResult:
    """:func:`engine.find_candidates`, with sharing providers when some could serve."""
    if not _applies(snapshot, query):
        return engine.find_candidates(snapshot, query, max_results, memo)
    cap = max_results if query.limit is None else min(query.limit, max_results)
    requests = _interleaved(_anchored_searches(snapshot, query), cap) if cap > 0 else []
    return CandidatesResult(requests, _trees_used(snapshot, requests))


def find_roots(
    snapshot: Snapshot, query: CandidateQuery, memo: FirstCandidates | None = None
) -> list[str]:
    """:func:`engine.find_roots`, with sharing providers: the anchors with a candidate."""
    if not _applies(snapshot, query):
        return engine.find_roots(snapshot, query, memo)
    return [
        snapshot.trees[root_id].uuids[0]
        for root_id, found in _anchored_searches(snapshot, query)
        if next(found, None) is not None
    ]


def _applies(snapshot: Snapshot, query: CandidateQuery) -> bool:
    """Could a sharing provider take part: one holds a requested class, or a
    resourceless suffixed group could be given one."""
    if not snapshot.sharing_roots or not snapshot.anchors():
        return False
    wanted = {rc for group in query.groups for rc in group.resources}
    resourceless = any(group.suffix and not group.resources for group in query.groups)
    for root_id in snapshot.sharing_roots:
        for node in snapshot.trees[root_id].sharing:
            if resourceless or not wanted.isdisjoint(node.slots):
                return True
    return False


@dataclass(frozen=True, slots=True)
class _Check:
    """What the engine's search does not know about providers from other trees."""

    suffix: str
    granular: bool
    in_root: str | None  # root uuid of the group's in_tree
    member_of: Sequence[frozenset[str]]


def _anchored_searches(
    snapshot: Snapshot, query: CandidateQuery
) -> Iterator[tuple[int, Iterator[AllocationRequest]]]:
    """(anchor root id, its candidates) for every tree that could anchor one, in root
    id order from ``query.start``."""
    prepared = engine.prepare_query(snapshot, query)
    if prepared is None:
        return
    checks = []
    for group in query.groups:
        in_root = None
        if group.in_tree is not None:
            tree = snapshot.tree_of(group.in_tree)
            if tree is None:
                return
            in_root = tree.uuids[0]
        checks.append(_Check(group.suffix, bool(group.suffix), in_root, tuple(group.member_of)))
    search = engine.tree_search(query, prepared)
    classes = frozenset(rc for g in query.groups for rc in g.resources)
    for root_id in engine.rotated(_anchor_ids(snapshot, classes, checks), query.start):
        tree = _extended(snapshot, snapshot.trees[root_id])
        yield root_id, _valid(search(tree), tree, checks)


def _anchor_ids(snapshot: Snapshot, classes: frozenset[str], checks: list[_Check]) -> list[int]:
    """Sorted root ids of the trees that, with the sharing providers anchored in them,
    hold every class and can meet every in_tree."""
    ids = set(snapshot.roots_with(classes))
    for root_id, shared in snapshot.anchors().items():
        if root_id in ids:
            continue
        held = set(snapshot.trees[root_id].resource_classes)
        for uuid in shared:
            node = snapshot.node(uuid)
            if node is not None:
                held.update(node.slots)
        if classes <= held:
            ids.add(root_id)
    anchored = snapshot.anchored
    for check in checks:
        if check.in_root is None:
            continue
        in_id = snapshot.tree_of_uuid[check.in_root]
        ids = {
            i
            for i in ids
            if i == in_id
            or (check.granular and any(_root_of(snapshot, u) == in_id for u in anchored(i)))
        }
    return sorted(ids)


def _root_of(snapshot: Snapshot, uuid: str) -> int | None:
    return snapshot.tree_of_uuid.get(uuid)


def _extended(snapshot: Snapshot, tree: Tree) -> Tree:
    """``tree`` with the sharing providers anchored in it appended (after its own
    providers, so searches try the tree first)."""
    extra = [n for n in map(snapshot.node, snapshot.anchored(tree.root_id)) if n is not None]
    if not extra:
        return tree
    by_rc: dict[str, tuple[Node, ...]] = dict(tree.by_rc)
    for node in extra:
        for rc in node.slots:
            by_rc[rc] = (*by_rc.get(rc, ()), node)
    nodes = (*tree.nodes, *extra)
    return Tree(
        tree.root_id,
        nodes,
        {n.uuid: n for n in nodes},
        frozenset(by_rc),
        by_rc,
        tree.shape,
        tuple(n.uuid for n in nodes),
        {n.uuid: n.summary for n in nodes},
        tree.aggregates,
        tree.sharing,
    )


def _valid(
    found: Iterator[AllocationRequest], tree: Tree, checks: list[_Check]
) -> Iterator[AllocationRequest]:
    """The candidates whose providers from other trees are allowed: each group's
    providers in its in_tree; the unsuffixed group's sharing providers in its
    member_of aggregates themselves."""
    anchor = tree.uuids[0]
    for request in found:
        if all(_group_ok(request.mappings.get(c.suffix, ()), tree, anchor, c) for c in checks):
            yield request


def _group_ok(providers: Sequence[str], tree: Tree, anchor: str, check: _Check) -> bool:
    for uuid in providers:
        node = tree.by_uuid[uuid]
        if check.in_root is not None and node.root_uuid != check.in_root:
            return False
        if (
            not check.granular
            and node.root_uuid != anchor
            and not all(node.aggregates & any_of for any_of in check.member_of)
        ):
            return False
    return True


def _key(request: AllocationRequest) -> tuple[object, ...]:
    return (
        frozenset((rp, frozenset(res.items())) for rp, res in request.allocations.items()),
        frozenset((suffix, tuple(sorted(rps))) for suffix, rps in request.mappings.items()),
    )


def _interleaved(
    searches: Iterator[tuple[int, Iterator[AllocationRequest]]], cap: int
) -> list[AllocationRequest]:
    """Anchors take turns (each one's first candidate, then each one's second, ...)
    until ``cap``; a candidate another anchor already gave is skipped."""
    active = [found for _root_id, found in searches]
    seen: set[tuple[object, ...]] = set()
    result: list[AllocationRequest] = []
    while active and len(result) < cap:
        still = []
        for found in active:
            for request in found:
                key = _key(request)
                if key not in seen:
                    seen.add(key)
                    result.append(request)
                    still.append(found)
                    break
            if len(result) >= cap:
                break
        active = still
    return result


def _trees_used(snapshot: Snapshot, requests: Sequence[AllocationRequest]) -> list[Tree]:
    """The trees of every provider in ``requests`` (their summaries), first use first."""
    used: dict[int, Tree] = {}
    for request in requests:
        for uuids in (request.allocations, *request.mappings.values()):
            for uuid in uuids:
                root_id = snapshot.tree_of_uuid[uuid]
                if root_id not in used:
                    used[root_id] = snapshot.trees[root_id]
    return list(used.values())


__all__ = ["find_candidates", "find_roots"]
