"""Allocation candidates: a pure function of a :class:`Snapshot` and a query.

Semantics are OpenStack Placement's (microversion 1.39; sharing providers are added
around this search by :mod:`~virtfleet.placement.sharing`):

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
Interchangeable granular groups (equal requests, e.g. eight 1-GPU slices) are
assigned in one canonical order only; each assignment found is then listed with
every distinct permutation of their providers, as Placement lists them, without
searching the symmetric copies. Only trees holding every requested class are
visited, in root id order, taking turns: each tree's first candidate, then each
tree's second, and so on. Trees in the same state (equal
:class:`~virtfleet.placement.snapshot.TreeShape`) share one search whose answers are
renamed for each (:mod:`~virtfleet.placement.memo`); an optional
:class:`~virtfleet.placement.memo.FirstCandidates` keeps those searches and every
tree's renamed candidates per query shape until the tree changes.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from virtfleet.placement.memo import FirstCandidates, Search, ShapeMemo, TreeEntry
from virtfleet.placement.snapshot import Node, Snapshot, Tree
from virtfleet.placement.types import (
    AllocationRequest,
    CandidateQuery,
    CandidatesResult,
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
    kind: int = 0  # granular groups of equal kind are interchangeable (twins)


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
    """The providers of ``tree`` that could take ``group`` on their own, in tree order."""
    options = []
    # Only providers with the group's first class can serve it (any, if resourceless).
    nodes = tree.by_rc.get(group.resources[0][0], ()) if group.resources else tree.nodes
    for node in nodes:
        bits = node.trait_bits
        if bits & group.forbidden_mask or not all(bits & mask for mask in group.any_masks):
            continue
        # member_of<N> looks at the provider's own aggregates only.
        if (group.member_of or group.forbidden_aggregates) and not aggregates_ok(
            node, node, group.member_of, group.forbidden_aggregates
        ):
            continue
        slots = node.slots
        for rc, amount in group.resources:
            slot = slots.get(rc)
            if slot is None or not slot.fits(amount):
                break
        else:
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
            for node in tree.by_rc.get(rc, ())
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
    """Backtracking over the groups of one query inside one tree.

    Interchangeable groups (same request, same same_subtree constraints; ``twins``
    marks each one that follows its twin in ``order``) share one option list and
    are assigned in non-decreasing option order (increasing under isolate); each
    assignment found is then yielded with every distinct permutation of its twins'
    providers, so the search never walks the k! symmetric copies of a dead end.
    """

    def __init__(
        self,
        tree: Tree,
        order: list[_Group],
        options: list[Sequence[_Option] | Iterator[_Option]],
        isolate: bool,
        same_subtree: Sequence[frozenset[str]],
        twins: Sequence[bool] = (),
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
        self.twin = list(twins) or [False] * len(order)
        self.classes = _twin_classes(self.twin)
        # Twins still to place after position i (under isolate each needs a later option).
        self.after: list[int] = [0] * len(order)
        for members in self.classes:
            for k, position in enumerate(members):
                self.after[position] = len(members) - 1 - k
        self.acc: dict[tuple[str, str], int] = {}
        self.chosen: list[_Option | None] = [None] * len(order)
        self.chosen_at: list[int] = [0] * len(order)
        self.isolated: set[str] = set()

    def run(self) -> Iterator[AllocationRequest]:
        return self._assign(0)

    def _assign(self, i: int) -> Iterator[AllocationRequest]:
        if i == len(self.order):
            yield from self._results()
            return
        group = self.order[i]
        check_subtree = bool(self.subtrees_of[i])
        under = self._forced_anchors(i) if check_subtree else None
        if under is not None:
            check_subtree = False  # the anchors settle every constraint of group i
        options = self.options[i]
        start = 0
        if self.twin[i] or self.after[i]:
            # Canonical order among twins: never below the previous one; under
            # isolate strictly above, leaving room for the twins still to come.
            assert isinstance(options, list)  # twins are granular: options are lists
            if self.twin[i]:
                start = self.chosen_at[i - 1] + (1 if self.isolate else 0)
            stop = len(options) - (self.after[i] if self.isolate else 0)
            options = itertools.islice(options, start, max(stop, start))
        for at, option in enumerate(options, start):
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
            self.chosen_at[i] = at
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

    def _results(self) -> Iterator[AllocationRequest]:
        """The assignment found (its permutations among twins: :func:`_expanded`)."""
        allocations: dict[str, dict[str, int]] = {}
        for (uuid, rc), amount in self.acc.items():
            allocations.setdefault(uuid, {})[rc] = amount
        mappings = {
            group.suffix: list(option.uuids)
            for group, option in zip(self.order, self.chosen, strict=True)
            if option is not None
        }
        yield AllocationRequest(allocations, mappings)


Twins = Sequence[tuple[str, ...]]  # suffixes of each class of interchangeable groups


def _twin_suffixes(groups: Sequence[_Group]) -> Twins:
    by_kind: dict[int, list[str]] = {}
    for g in groups:
        if g.granular:
            by_kind.setdefault(g.kind, []).append(g.suffix)
    return [tuple(suffixes) for suffixes in by_kind.values() if len(suffixes) > 1]


def _permutations(request: AllocationRequest, twins: Twins) -> Iterator[AllocationRequest]:
    """``request`` with each twin class's providers in every other distinct order
    (same allocations, other mappings), lazily."""
    if not twins:
        return
    per_class = [(suffixes, tuple(request.mappings[s][0] for s in suffixes)) for suffixes in twins]
    permuted = _permuted_mappings(request.mappings, per_class)
    next(permuted)  # the request itself
    for mappings in permuted:
        yield AllocationRequest(request.allocations, mappings)


def _expanded(canonical: Iterator[AllocationRequest], twins: Twins) -> Iterator[AllocationRequest]:
    """Each assignment the search found, followed by its permutations among twins."""
    for request in canonical:
        yield request
        yield from _permutations(request, twins)


def _permuted_mappings(
    mappings: Mapping[str, Sequence[str]],
    per_class: Sequence[tuple[tuple[str, ...], tuple[str, ...]]],
) -> Iterator[Mapping[str, Sequence[str]]]:
    """``mappings`` with each class's providers in every distinct order (lazily; the
    first one is ``mappings`` unchanged)."""
    if not per_class:
        yield mappings
        return
    (suffixes, uuids), rest = per_class[0], per_class[1:]
    for outer in _permuted_mappings(mappings, rest):
        for order in _distinct_permutations(uuids):
            permuted = dict(outer)
            for suffix, uuid in zip(suffixes, order, strict=True):
                permuted[suffix] = [uuid]
            yield permuted


def _twin_classes(twin: Sequence[bool]) -> list[tuple[int, ...]]:
    """Positions of each run of two or more twins (``twin[i]``: same as ``i - 1``)."""
    classes: list[tuple[int, ...]] = []
    i = 0
    while i < len(twin):
        j = i + 1
        while j < len(twin) and twin[j]:
            j += 1
        if j - i > 1:
            classes.append(tuple(range(i, j)))
        i = j
    return classes


def _distinct_permutations(items: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Every distinct ordering of ``items``, starting with ``items`` itself (which
    must be sorted in the search's option order, i.e. as chosen)."""
    if len(set(items)) == len(items):
        yield from itertools.permutations(items)
        return
    seen: set[tuple[str, ...]] = set()
    for perm in itertools.permutations(items):
        if perm not in seen:
            seen.add(perm)
            yield perm


@dataclass(frozen=True, slots=True)
class _OneNodePlan:
    """Every group on one provider: the checks of all groups folded together."""

    any_masks: tuple[int, ...]
    forbidden_mask: int
    member_of: tuple[frozenset[str], ...]
    forbidden_aggregates: frozenset[str]
    amounts: tuple[tuple[str, int], ...]  # each group's amount (min/max/step/free)
    totals: tuple[tuple[str, int], ...]  # summed per class (free and max_unit)
    allocation: Mapping[str, int]  # the totals, shared by every candidate (read-only)
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
        allocation=dict(totals),
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
    return AllocationRequest({uuid: plan.allocation}, {suffix: [uuid] for suffix in plan.suffixes})


def _tree_candidates(
    tree: Tree, groups: list[_Group], query: CandidateQuery
) -> Iterator[AllocationRequest]:
    """Candidates inside a tree of several providers (backtracking)."""
    isolate = query.group_policy == "isolate"
    granular = [g for g in groups if g.granular]
    by_kind: dict[int, list[_Option]] = {}
    for g in granular:
        if g.kind not in by_kind:
            found = _granular_options(tree, g)
            if not found:
                return
            by_kind[g.kind] = found
    # Fewest options first; twins (equal kind) next to each other.
    ranked = sorted(granular, key=lambda g: (len(by_kind[g.kind]), g.kind))
    order = list(ranked)
    options: list[Sequence[_Option] | Iterator[_Option]] = [by_kind[g.kind] for g in ranked]
    twins = [i > 0 and g.kind == ranked[i - 1].kind for i, g in enumerate(ranked)]
    unsuffixed = [g for g in groups if not g.granular]
    if unsuffixed:
        order.insert(0, unsuffixed[0])
        options.insert(0, _unsuffixed_options(tree, unsuffixed[0]))
        twins.insert(0, False)
    if len(order) == 1:  # one group: each option fits on its own, nothing to combine
        group = order[0]
        for option in options[0]:
            allocations: dict[str, dict[str, int]] = {}
            for node, rc, amount in option.parts:
                allocations.setdefault(node.uuid, {})[rc] = amount
            yield AllocationRequest(allocations, {group.suffix: list(option.uuids)})
        return
    yield from _TreeSearch(tree, order, options, isolate, query.same_subtree, twins).run()


def _with_kinds(groups: list[_Group], same_subtree: Sequence[frozenset[str]]) -> list[_Group]:
    """Number the granular groups so that equal requests (resources, traits,
    aggregates, in_tree, and the same_subtree constraints they are in) share a kind."""
    kinds: dict[tuple[object, ...], int] = {}
    result = []
    for g in groups:
        if not g.granular:
            result.append(g)
            continue
        key = (
            g.resources,
            g.any_masks,
            g.forbidden_mask,
            g.member_of,
            g.forbidden_aggregates,
            g.in_tree,
            tuple(g.suffix in suffixes for suffixes in same_subtree),
        )
        result.append(dataclasses.replace(g, kind=kinds.setdefault(key, len(kinds))))
    return result


def _candidate_trees(snapshot: Snapshot, groups: list[_Group]) -> list[int]:
    """Root ids of trees that hold every requested class (and every in_tree), sorted
    (the list may be shared: do not modify it)."""
    ids = snapshot.roots_with(frozenset(rc for g in groups for rc, _ in g.resources))
    for group in groups:
        if group.in_tree is not None:
            root_id = snapshot.tree_of_uuid.get(group.in_tree)
            ids = [i for i in ids if i == root_id]
    return ids


ROTATION_CHUNK = 1024


def rotated(root_ids: list[int], start: float) -> Iterator[int]:
    """``root_ids`` beginning at fraction ``start`` of the list, wrapping around;
    lazily, in slices (a search that stops early copies little of a long list)."""
    n = len(root_ids)
    k = int(n * start) if 0.0 < start < 1.0 else 0
    for begin, end in ((k, n), (0, k)):
        for at in range(begin, end, ROTATION_CHUNK):
            yield from root_ids[at : min(at + ROTATION_CHUNK, end)]


Prepared = tuple[list[_Group], dict[str, int], tuple[int, ...], int]


def prepare_query(snapshot: Snapshot, query: CandidateQuery) -> Prepared | None:
    """Compiled groups, summed amounts and root masks; None when nothing can match."""
    groups = _with_kinds([_compile(g, snapshot) for g in query.groups], query.same_subtree)
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


def _shape_key(snapshot: Snapshot, query: CandidateQuery, prepared: Prepared) -> tuple[object, ...]:
    groups, _totals, root_any, root_forbidden = prepared
    return (
        id(snapshot.bits),
        tuple(groups),
        root_any,
        root_forbidden,
        query.group_policy,
        tuple(query.same_subtree),
    )


def tree_search(query: CandidateQuery, prepared: Prepared) -> Search:
    """Every candidate of one tree, in search order: nothing if its root fails the
    root traits; the fast path for a tree of one provider; else the backtracking
    search, each assignment followed by its permutations among twins."""
    groups, totals, root_any, root_forbidden = prepared
    one_node = _one_node_plan(groups, totals, query.group_policy == "isolate")
    twins = _twin_suffixes(groups)

    def search(tree: Tree) -> Iterator[AllocationRequest]:
        root = tree.nodes[0]
        if (root_any or root_forbidden) and not traits_ok(
            root.trait_bits, root_any, root_forbidden
        ):
            return
        if len(tree.nodes) == 1:
            if one_node.possible:
                only = _single_node(tree, one_node)
                if only is not None:
                    yield only
            return
        yield from _expanded(_tree_candidates(tree, groups, query), twins)

    return search


def _matches(
    snapshot: Snapshot,
    query: CandidateQuery,
    prepared: Prepared,
    memo: FirstCandidates | None = None,
    cap: int | None = None,
) -> list[TreeEntry]:
    """The entry of each tree with a candidate, in root id order (the first ``cap``)."""
    shapes = memo.memo(_shape_key(snapshot, query, prepared)) if memo else ShapeMemo()
    search = tree_search(query, prepared)
    newer, base = snapshot.trees.newer.get, snapshot.trees.base  # TreeMap, inlined
    known = shapes.trees
    found: list[TreeEntry] = []
    left = -1 if cap is None else cap  # never reaches 0 without a cap
    for root_id in rotated(_candidate_trees(snapshot, prepared[0]), query.start):
        tree = newer(root_id) or base[root_id]
        entry = known.get(root_id)
        if entry is None or entry.tree is not tree:
            entry = shapes.entry(tree, search)
        if entry.template.found or entry.template.available(1):
            found.append(entry)
            left -= 1
            if not left:
                break
    return found


def _counts(entries: Sequence[TreeEntry], cap: int) -> list[int]:
    """How many candidates each tree gives when trees take turns (each tree's first,
    then each one's second, ...) until ``cap`` or every tree is exhausted.

    Trees in the same state share a template, so each turn asks each template (not
    each tree) whether it has one more.
    """
    templates = [entry.template for entry in entries]
    sharing = collections.Counter(templates)  # template -> trees using it
    left = cap - len(entries)
    level = 1  # every tree gives min(its candidates, level)
    deeper = {t: n for t, n in sharing.items() if not (t.complete and len(t.found) <= 1)}
    while left > 0 and deeper:
        wanted = level + 1
        deeper = {t: n for t, n in deeper.items() if t.available(wanted) >= wanted}
        trees = sum(deeper.values())
        if trees > left:  # the last, partial turn: first trees in order only
            counts = [min(len(t.found), level) for t in templates]
            for i, template in enumerate(templates):
                if left and template in deeper:
                    counts[i] = wanted
                    left -= 1
            return counts
        left -= trees
        level = wanted
    if level == 1:
        return [1] * len(templates)
    given = {t: min(len(t.found), level) for t in sharing}
    return list(map(given.__getitem__, templates))


def _interleaved(entries: Sequence[TreeEntry], counts: Sequence[int]) -> list[AllocationRequest]:
    """The trees' candidates in turn order: every first, then every second, ..."""
    if max(counts, default=0) <= 1:
        return [e.requests[0] if e.requests else e.take(1)[0] for e in entries]
    lists = []
    for entry, count in zip(entries, counts, strict=True):
        found = entry.take(count)
        lists.append(found if len(found) == count else found[:count])
    # Turn by turn (zip_longest pads the trees that ran out with None).
    return list(filter(None, itertools.chain.from_iterable(itertools.zip_longest(*lists))))


def find_candidates(
    snapshot: Snapshot,
    query: CandidateQuery,
    max_results: int = DEFAULT_MAX_RESULTS,
    memo: FirstCandidates | None = None,
) -> CandidatesResult:
    """All allocation candidates for ``query`` (at most ``limit``, and at most
    ``max_results`` when no limit is given), with summaries of their trees.

    Trees take turns: every tree's first candidate comes before any tree's second,
    so a limit or the cap keeps as many hosts as it can. ``memo`` (optional) keeps
    the candidates of each tree state and of each tree for the next query of the
    same shape.
    """
    cap = max_results if query.limit is None else min(query.limit, max_results)
    prepared = prepare_query(snapshot, query)
    if prepared is None or cap <= 0:
        return CandidatesResult([])
    entries = _matches(snapshot, query, prepared, memo, cap)
    requests = _interleaved(entries, _counts(entries, cap))
    return CandidatesResult(requests, [entry.tree for entry in entries])


def find_roots(
    snapshot: Snapshot, query: CandidateQuery, memo: FirstCandidates | None = None
) -> list[str]:
    """Root uuids of every tree with at least one candidate (no cap): what "which
    hosts could take this" needs, at the cost of one candidate per tree state."""
    prepared = prepare_query(snapshot, query)
    if prepared is None:
        return []
    return [entry.tree.uuids[0] for entry in _matches(snapshot, query, prepared, memo)]
