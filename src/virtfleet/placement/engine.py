"""Allocation candidates: a pure function of a :class:`Snapshot` and a query.

Semantics are OpenStack Placement's (microversion 1.39, without sharing providers):

* a suffixed group is satisfied by ONE provider having every resource (each amount
  within min_unit/max_unit/step_size and free capacity), all required traits
  (each any-of set meets the provider's traits), no forbidden trait, and the
  aggregates of ``member_of`` (its own); a resourceless suffixed group by any such
  provider;
* the unsuffixed group takes each resource class from a single provider of the
  tree (different classes may come from different providers); its required traits
  are met by the union of the traits of the providers that supply it, and none of
  them may have a forbidden trait; its ``member_of`` counts the aggregates of each
  provider and of the tree's root (a root's aggregate spans its tree);
* all groups of a candidate are in one tree, whose root meets ``root_required``;
* ``group_policy=isolate``: the suffixed groups use pairwise distinct providers;
* ``same_subtree``: among the providers of the named groups one is an ancestor
  (or itself) of all the others;
* amounts of several groups on the same provider and class are summed and must
  still fit capacity and max_unit.

Per tree the groups are assigned by backtracking over the few providers that can
serve each, pruning on capacity, isolation and same_subtree as soon as a partial
assignment fails, and results are produced lazily so ``limit`` stops the work.
Trees are visited in root id order, and only trees holding every requested class.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from virtfleet.placement.snapshot import Node, Snapshot, Tree
from virtfleet.placement.types import (
    AllocationRequest,
    CandidateQuery,
    CandidatesResult,
    ProviderSummary,
    RequestGroup,
)

DEFAULT_MAX_RESULTS = 10_000


@dataclass(frozen=True, slots=True)
class _Group:
    """A request group compiled against a snapshot's trait bits."""

    suffix: str
    granular: bool
    resources: tuple[tuple[str, int], ...]
    any_masks: tuple[int, ...]
    impossible: bool  # an any-of set names only traits no provider has
    forbidden_mask: int
    member_of: tuple[frozenset[str], ...]
    forbidden_aggregates: frozenset[str]
    in_tree: str | None


@dataclass(frozen=True, slots=True)
class _Option:
    """One way to satisfy one group inside a tree."""

    parts: tuple[tuple[Node, str, int], ...]
    uuids: tuple[str, ...]  # providers used, sorted (the group's mapping)


def _compile(group: RequestGroup, snapshot: Snapshot) -> _Group:
    masks = tuple(snapshot.bits.mask_of(any_of) for any_of in group.required)
    return _Group(
        suffix=group.suffix,
        granular=group.suffix != "",
        resources=tuple(sorted(group.resources.items())),
        any_masks=masks,
        impossible=any(mask == 0 for mask in masks),
        forbidden_mask=snapshot.bits.mask_of(group.forbidden),
        member_of=tuple(group.member_of),
        forbidden_aggregates=group.forbidden_aggregates,
        in_tree=group.in_tree,
    )


def traits_ok(bits: int, any_masks: Sequence[int], forbidden_mask: int) -> bool:
    """Every any-of mask meets ``bits`` and no forbidden bit is set."""
    if bits & forbidden_mask:
        return False
    return all(bits & mask for mask in any_masks)


def aggregates_ok(
    node: Node, root: Node, member_of: Sequence[frozenset[str]], forbidden: frozenset[str]
) -> bool:
    """Aggregates of the provider or of ``root`` meet each any-of set, none forbidden.

    For the unsuffixed group an aggregate of the root spans the whole tree (pass the
    tree's root); for a suffixed group only the provider's own count (pass the node).
    """
    if not member_of and not forbidden:
        return True
    aggs = node.aggregates | root.aggregates
    return not (aggs & forbidden) and all(aggs & any_of for any_of in member_of)


def amount_fits(node: Node, rc: str, amount: int) -> bool:
    slot = node.slots.get(rc)
    return slot is not None and slot.fits(amount)


def _granular_options(tree: Tree, group: _Group) -> list[_Option]:
    options = []
    for node in tree.nodes:
        if not traits_ok(node.trait_bits, group.any_masks, group.forbidden_mask):
            continue
        # member_of<N> looks at the provider's own aggregates only.
        if not aggregates_ok(node, node, group.member_of, group.forbidden_aggregates):
            continue
        if all(amount_fits(node, rc, amount) for rc, amount in group.resources):
            options.append(
                _Option(tuple((node, rc, amount) for rc, amount in group.resources), (node.uuid,))
            )
    return options


def _unsuffixed_options(tree: Tree, group: _Group) -> Iterator[_Option]:
    """Every choice of one provider per resource class whose union meets the traits."""
    root = tree.root
    per_rc: list[list[tuple[Node, str, int]]] = []
    for rc, amount in group.resources:
        providers = [
            (node, rc, amount)
            for node in tree.nodes
            if not node.trait_bits & group.forbidden_mask
            and amount_fits(node, rc, amount)
            and aggregates_ok(node, root, group.member_of, group.forbidden_aggregates)
        ]
        if not providers:
            return
        per_rc.append(providers)
    for parts in itertools.product(*per_rc):
        bits = 0
        for node, _rc, _amount in parts:
            bits |= node.trait_bits
        if all(bits & mask for mask in group.any_masks):
            yield _Option(tuple(parts), tuple(sorted({node.uuid for node, _, _ in parts})))


class _TreeSearch:
    """Backtracking over the groups of one query inside one tree."""

    def __init__(
        self,
        tree: Tree,
        order: list[_Group],
        options: list[Sequence[_Option] | Iterator[_Option]],
        isolate: bool,
        same_subtree: Sequence[frozenset[str]],
    ) -> None:
        self.tree = tree
        self.order = order
        self.options = options
        self.isolate = isolate
        positions = [
            tuple(i for i, g in enumerate(order) if g.suffix in suffixes)
            for suffixes in same_subtree
        ]
        self.subtrees_of = [[ps for ps in positions if i in ps] for i in range(len(order))]
        self.option_uuids: list[frozenset[str]] = []
        if same_subtree:
            self.option_uuids = [
                frozenset(o.uuids[0] for o in opts) if isinstance(opts, list) else frozenset()
                for opts in options
            ]
        self.acc: dict[tuple[str, str], int] = {}
        self.chosen: list[_Option | None] = [None] * len(order)
        self.isolated: set[str] = set()

    def run(self) -> Iterator[AllocationRequest]:
        return self._assign(0)

    def _assign(self, i: int) -> Iterator[AllocationRequest]:
        if i == len(self.order):
            yield self._result()
            return
        group = self.order[i]
        check_subtree = bool(self.subtrees_of[i])
        under = self._forced_anchors(i) if check_subtree else None
        if under is not None:
            check_subtree = False  # the anchors settle every constraint of group i
        for option in self.options[i]:
            if self.isolate and group.granular and option.uuids[0] in self.isolated:
                continue
            if under is not None or check_subtree:
                node = self.tree.by_uuid[option.uuids[0]]
                if under is not None and not under <= node.ancestors:
                    continue
                if check_subtree and not self._subtree_ok(i, node):
                    continue
            if not self._take(option):
                continue
            self.chosen[i] = option
            if group.granular and self.isolate:
                self.isolated.add(option.uuids[0])
            yield from self._assign(i + 1)
            if group.granular and self.isolate:
                self.isolated.discard(option.uuids[0])
            self.chosen[i] = None
            self._give_back(option)

    def _forced_anchors(self, i: int) -> frozenset[str] | None:
        """Providers every option of group ``i`` must descend from, when that settles
        all of its same_subtree constraints; None when it does not.

        It does when, in each constraint, a provider already taken is an ancestor of
        all taken ones and no group still to assign could offer an ancestor of it.
        """
        anchors: set[str] = set()
        for positions in self.subtrees_of[i]:
            taken = [self.chosen[p] for p in positions if p < i]
            if not taken:
                return None
            nodes = [self.tree.by_uuid[o.uuids[0]] for o in taken if o is not None]
            common = frozenset.intersection(*(n.ancestors for n in nodes))
            tops = [n for n in nodes if n.uuid in common]
            if not tops:
                return None
            highest = min(tops, key=lambda n: len(n.ancestors))
            above = highest.ancestors - {highest.uuid}
            if any(self.option_uuids[p] & above for p in positions if p >= i):
                return None
            anchors.add(highest.uuid)
        return frozenset(anchors)

    def _take(self, option: _Option) -> bool:
        acc = self.acc
        for done, (node, rc, amount) in enumerate(option.parts):
            key = (node.uuid, rc)
            total = acc.get(key, 0) + amount
            slot = node.slots[rc]
            if slot.used + total > slot.capacity or total > slot.max_unit:
                self._give_back(option, done)
                return False
            acc[key] = total
        return True

    def _give_back(self, option: _Option, count: int | None = None) -> None:
        parts = option.parts if count is None else option.parts[:count]
        for node, rc, amount in parts:
            key = (node.uuid, rc)
            left = self.acc[key] - amount
            if left:
                self.acc[key] = left
            else:
                del self.acc[key]

    def _subtree_ok(self, i: int, node: Node) -> bool:
        """Could every same_subtree constraint of group ``i`` hold with ``node`` taken?

        A constraint holds when one of its providers is an ancestor-or-self of all
        the others: that top is either among those taken so far, or must still come
        from a group not yet assigned.
        """
        for positions in self.subtrees_of[i]:
            common = node.ancestors
            taken = {node.uuid}
            pending = []
            for p in positions:
                if p == i:
                    continue
                option = self.chosen[p]
                if option is None:
                    pending.append(p)
                    continue
                other = self.tree.by_uuid[option.uuids[0]]
                common = common & other.ancestors
                taken.add(other.uuid)
            if common & taken:
                continue
            if not any(common & self.option_uuids[p] for p in pending):
                return False
        return True

    def _result(self) -> AllocationRequest:
        allocations: dict[str, dict[str, int]] = {}
        for (uuid, rc), amount in self.acc.items():
            allocations.setdefault(uuid, {})[rc] = amount
        mappings = {
            group.suffix: list(option.uuids)
            for group, option in zip(self.order, self.chosen, strict=True)
            if option is not None
        }
        return AllocationRequest(allocations, mappings)


@dataclass(frozen=True, slots=True)
class _OneNodePlan:
    """Every group on one provider: the checks of all groups folded together."""

    any_masks: tuple[int, ...]
    forbidden_mask: int
    member_of: tuple[frozenset[str], ...]
    forbidden_aggregates: frozenset[str]
    amounts: tuple[tuple[str, int], ...]  # each group's amount (min/max/step/free)
    totals: tuple[tuple[str, int], ...]  # summed per class (free and max_unit)
    suffixes: tuple[str, ...]
    possible: bool  # False when isolate forbids several groups on one provider
    summed: bool  # some class is asked by several groups (totals need a check)


def _one_node_plan(groups: list[_Group], totals: dict[str, int], isolate: bool) -> _OneNodePlan:
    forbidden = 0
    for g in groups:
        forbidden |= g.forbidden_mask
    return _OneNodePlan(
        any_masks=tuple(m for g in groups for m in g.any_masks),
        forbidden_mask=forbidden,
        member_of=tuple(m for g in groups for m in g.member_of),
        forbidden_aggregates=frozenset().union(*(g.forbidden_aggregates for g in groups)),
        amounts=tuple(ra for g in groups for ra in g.resources),
        totals=tuple(totals.items()),
        suffixes=tuple(g.suffix for g in groups),
        possible=not (isolate and sum(1 for g in groups if g.granular) > 1),
        summed=len(totals) < sum(len(g.resources) for g in groups),
    )


def _single_node(tree: Tree, plan: _OneNodePlan) -> AllocationRequest | None:
    """The fast path for a tree of one provider: every group on it, or nothing."""
    node = tree.nodes[0]
    bits = node.trait_bits
    if bits & plan.forbidden_mask:
        return None
    for mask in plan.any_masks:
        if not bits & mask:
            return None
    if (plan.member_of or plan.forbidden_aggregates) and not aggregates_ok(
        node, node, plan.member_of, plan.forbidden_aggregates
    ):
        return None
    slots = node.slots
    for rc, amount in plan.amounts:
        slot = slots.get(rc)
        if (
            slot is None
            or amount < slot.min_unit
            or amount > slot.max_unit
            or amount % slot.step_size
            or slot.used + amount > slot.capacity
        ):
            return None
    if plan.summed:
        for rc, total in plan.totals:
            slot = slots[rc]
            if slot.used + total > slot.capacity or total > slot.max_unit:
                return None
    uuid = node.uuid
    return AllocationRequest(
        {uuid: dict(plan.totals)}, {suffix: [uuid] for suffix in plan.suffixes}
    )


def _tree_candidates(
    tree: Tree, groups: list[_Group], query: CandidateQuery
) -> Iterator[AllocationRequest]:
    """Candidates inside a tree of several providers (backtracking)."""
    isolate = query.group_policy == "isolate"
    granular = [g for g in groups if g.granular]
    granular_options = [_granular_options(tree, g) for g in granular]
    if any(not options for options in granular_options):
        return
    ranked = sorted(zip(granular, granular_options, strict=True), key=lambda p: len(p[1]))
    order = [g for g, _ in ranked]
    options: list[Sequence[_Option] | Iterator[_Option]] = [o for _, o in ranked]
    unsuffixed = [g for g in groups if not g.granular]
    if unsuffixed:
        order.insert(0, unsuffixed[0])
        options.insert(0, _unsuffixed_options(tree, unsuffixed[0]))
    if len(order) == 1:  # one group: each option fits on its own, nothing to combine
        group = order[0]
        for option in options[0]:
            allocations: dict[str, dict[str, int]] = {}
            for node, rc, amount in option.parts:
                allocations.setdefault(node.uuid, {})[rc] = amount
            yield AllocationRequest(allocations, {group.suffix: list(option.uuids)})
        return
    yield from _TreeSearch(tree, order, options, isolate, query.same_subtree).run()


def _candidate_trees(snapshot: Snapshot, groups: list[_Group]) -> list[int]:
    """Root ids of trees that hold every requested class (and every in_tree)."""
    rcs = {rc for g in groups for rc, _ in g.resources}
    sets = sorted((snapshot.trees_by_rc.get(rc, frozenset()) for rc in rcs), key=len)
    ids: set[int] | frozenset[int]
    if sets:
        ids = sets[0].intersection(*sets[1:]) if len(sets) > 1 else sets[0]
    else:
        ids = frozenset(snapshot.trees)
    for group in groups:
        if group.in_tree is not None:
            root_id = snapshot.tree_of_uuid.get(group.in_tree)
            ids = ids & {root_id} if root_id is not None else frozenset()
    return sorted(ids)


def _prepare(
    snapshot: Snapshot, query: CandidateQuery
) -> tuple[list[_Group], dict[str, int], tuple[int, ...], int] | None:
    """Compiled groups, summed amounts and root masks; None when nothing can match."""
    groups = [_compile(g, snapshot) for g in query.groups]
    if any(g.impossible for g in groups):
        return None
    totals: dict[str, int] = {}
    for group in groups:
        for rc, amount in group.resources:
            totals[rc] = totals.get(rc, 0) + amount
    root_any = tuple(snapshot.bits.mask_of([t]) for t in query.root_required)
    if any(mask == 0 for mask in root_any):
        return None
    return groups, totals, root_any, snapshot.bits.mask_of(query.root_forbidden)


def _matches(
    snapshot: Snapshot,
    query: CandidateQuery,
    prepared: tuple[list[_Group], dict[str, int], tuple[int, ...], int],
) -> Iterator[tuple[Tree, Iterator[AllocationRequest]]]:
    """Per tree that could match: the tree and its candidates (lazily)."""
    groups, totals, root_any, root_forbidden = prepared
    one_node = _one_node_plan(groups, totals, query.group_policy == "isolate")
    trees = snapshot.trees
    for root_id in _candidate_trees(snapshot, groups):
        tree = trees[root_id]
        root = tree.nodes[0]
        if (root_any or root_forbidden) and not traits_ok(
            root.trait_bits, root_any, root_forbidden
        ):
            continue
        if len(tree.nodes) == 1:
            if one_node.possible:
                request = _single_node(tree, one_node)
                if request is not None:
                    yield tree, iter((request,))
        else:
            yield tree, _tree_candidates(tree, groups, query)


def find_candidates(
    snapshot: Snapshot, query: CandidateQuery, max_results: int = DEFAULT_MAX_RESULTS
) -> CandidatesResult:
    """All allocation candidates for ``query`` (at most ``limit``, and at most
    ``max_results`` when no limit is given), with summaries of their trees."""
    cap = max_results if query.limit is None else min(query.limit, max_results)
    requests: list[AllocationRequest] = []
    summaries: dict[str, ProviderSummary] = {}
    prepared = _prepare(snapshot, query)
    if prepared is None or cap <= 0:
        return CandidatesResult(requests, summaries)
    for tree, candidates in _matches(snapshot, query, prepared):
        found = False
        for request in candidates:
            requests.append(request)
            found = True
            if len(requests) >= cap:
                break
        if found:
            for node in tree.nodes:
                summaries[node.uuid] = node.summary
        if len(requests) >= cap:
            break
    return CandidatesResult(requests, summaries)


def find_roots(snapshot: Snapshot, query: CandidateQuery) -> list[str]:
    """Root uuids of every tree with at least one candidate (no cap): what "which
    hosts could take this" needs, at the cost of one candidate per tree."""
    prepared = _prepare(snapshot, query)
    if prepared is None:
        return []
    return [
        tree.root.uuid
        for tree, candidates in _matches(snapshot, query, prepared)
        if next(candidates, None) is not None
    ]
