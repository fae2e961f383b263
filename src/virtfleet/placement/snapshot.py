"""The immutable in-memory picture of every provider tree that candidate search reads.

A :class:`Snapshot` maps each tree (by its root's database id) to an immutable
:class:`Tree` of :class:`Node` objects, and indexes trees by the resource classes
they have inventory of, so a query only visits trees that could serve it. Traits are
also kept as int bitsets (one bit per trait, bits assigned by an append-only
:class:`TraitBits` registry shared by successive snapshots). Each tree carries its
:class:`TreeShape` — everything about it except names (structure, inventories,
usages, trait bits, aggregates) — so trees in the same state can share one search.

A snapshot is never changed: :meth:`Snapshot.with_trees` returns a new one that shares
every untouched tree with the old one (copy-on-write per tree).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from virtfleet.placement.types import Provider, ProviderSummary, ResourceUsage

#: A provider with this trait shares its inventory with every provider tree that has
#: a provider in one of its aggregates (Placement's sharing providers).
SHARES_TRAIT = "MISC_SHARES_VIA_AGGREGATE"


@dataclass(frozen=True, slots=True)
class Slot:
    """One resource class of one provider: its inventory and current usage."""

    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float
    used: int
    capacity: int

    def fits(self, amount: int) -> bool:
        """Could one allocation of ``amount`` be added now?"""
        return (
            self.min_unit <= amount <= self.max_unit
            and amount % self.step_size == 0
            and self.used + amount <= self.capacity
        )


def make_slot(
    total: int,
    reserved: int,
    min_unit: int,
    max_unit: int,
    step_size: int,
    allocation_ratio: float,
    used: int,
) -> Slot:
    capacity = int((total - reserved) * allocation_ratio)
    return Slot(total, reserved, min_unit, max_unit, step_size, allocation_ratio, used, capacity)


class TraitBits:
    """Append-only trait name -> bit registry (thread-safe; bits never change)."""

    def __init__(self) -> None:
        self._bits: dict[str, int] = {}
        self._lock = threading.Lock()

    def bits_of(self, traits: Iterable[str]) -> int:
        """The bitset of ``traits``, registering new names."""
        value = 0
        for trait in traits:
            bit = self._bits.get(trait)
            if bit is None:
                with self._lock:
                    bit = self._bits.setdefault(trait, len(self._bits))
            value |= 1 << bit
        return value

    def mask_of(self, traits: Iterable[str]) -> int:
        """The bitset of the already known ``traits`` (unknown ones: nobody has them)."""
        value = 0
        for trait in traits:
            bit = self._bits.get(trait)
            if bit is not None:
                value |= 1 << bit
        return value


@dataclass(frozen=True, slots=True)
class Node:
    """One provider as the candidate search sees it."""

    id: int
    uuid: str
    name: str
    generation: int
    parent_uuid: str | None
    root_uuid: str
    traits: frozenset[str]
    trait_bits: int
    aggregates: frozenset[str]
    slots: Mapping[str, Slot]
    ancestors: frozenset[str]  # uuids of this node and every ancestor
    summary: ProviderSummary

    def provider(self) -> Provider:
        return Provider(self.uuid, self.name, self.generation, self.parent_uuid, self.root_uuid)


class TreeShape:
    """A tree without its names: per node (in tree order) its parent's position,
    trait bits, aggregates and every inventory with its usage. Two trees of equal
    shape have the same candidates up to renaming their providers.

    Interned (:func:`shape_of`): equal shapes are one object, so a shape is
    compared and hashed by identity.
    """

    __slots__ = ("__weakref__", "key")

    def __init__(self, key: tuple[object, ...]) -> None:
        self.key = key


_SHAPES: weakref.WeakValueDictionary[tuple[object, ...], TreeShape] = weakref.WeakValueDictionary()
_SHAPES_LOCK = threading.Lock()


def shape_of(key: tuple[object, ...]) -> TreeShape:
    """The one :class:`TreeShape` of ``key`` (alive while some tree or memo holds it)."""
    with _SHAPES_LOCK:
        found = _SHAPES.get(key)
        if found is None:
            found = _SHAPES[key] = TreeShape(key)
        return found


@dataclass(frozen=True, slots=True)
class Tree:
    """A root and its descendants, root first, parents before children."""

    root_id: int
    nodes: tuple[Node, ...]
    by_uuid: Mapping[str, Node]
    resource_classes: frozenset[str]
    by_rc: Mapping[str, tuple[Node, ...]]  # tree order
    shape: TreeShape
    uuids: tuple[str, ...]  # of the nodes, in tree order
    summaries: Mapping[str, ProviderSummary]  # by uuid, tree order
    aggregates: frozenset[str] = frozenset()  # of every node
    sharing: tuple[Node, ...] = ()  # nodes with SHARES_TRAIT (they share via aggregates)
    rendered: dict[str, bytes] = field(default_factory=dict)  # filled on first use

    def summaries_json(self) -> bytes:
        """The JSON entries of every provider's summary, rendered once per tree."""
        found = self.rendered.get("summaries")
        if found is None:
            found = self.rendered["summaries"] = b", ".join(
                [node.summary.json_entry for node in self.nodes]
            )
        return found

    @property
    def root(self) -> Node:
        return self.nodes[0]


@dataclass(frozen=True)
class ProviderRow:
    """What the loader reads for one provider."""

    id: int
    uuid: str
    name: str
    generation: int
    parent_id: int | None
    root_id: int
    traits: frozenset[str] = frozenset()
    aggregates: frozenset[str] = frozenset()
    slots: Mapping[str, Slot] = field(default_factory=dict)


def build_tree(rows: Iterable[ProviderRow], bits: TraitBits) -> Tree | None:
    """Assemble one tree from its provider rows (None if the root is missing)."""
    by_id = {row.id: row for row in rows}
    roots = [row for row in by_id.values() if row.parent_id is None]
    if len(roots) != 1:
        return None
    children: dict[int, list[ProviderRow]] = {}
    for row in by_id.values():
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row)
    root = roots[0]
    nodes: list[Node] = []
    stack: list[tuple[ProviderRow, Node | None]] = [(root, None)]
    while stack:
        row, parent = stack.pop()
        parent_uuid = parent.uuid if parent else None
        summary = ProviderSummary(
            uuid=row.uuid,
            resources={rc: ResourceUsage(s.capacity, s.used) for rc, s in row.slots.items()},
            traits=row.traits,
            parent_provider_uuid=parent_uuid,
            root_provider_uuid=root.uuid,
        )
        node = Node(
            id=row.id,
            uuid=row.uuid,
            name=row.name,
            generation=row.generation,
            parent_uuid=parent_uuid,
            root_uuid=root.uuid,
            traits=row.traits,
            trait_bits=bits.bits_of(row.traits),
            aggregates=row.aggregates,
            slots=dict(row.slots),
            ancestors=(parent.ancestors if parent else frozenset()) | {row.uuid},
            summary=summary,
        )
        nodes.append(node)
        kids = sorted(children.get(row.id, ()), key=lambda r: r.id, reverse=True)
        stack.extend((kid, node) for kid in kids)
    by_rc: dict[str, list[Node]] = {}
    for node in nodes:
        for rc in node.slots:
            by_rc.setdefault(rc, []).append(node)
    return Tree(
        root.id,
        tuple(nodes),
        {n.uuid: n for n in nodes},
        frozenset(by_rc),
        {rc: tuple(members) for rc, members in by_rc.items()},
        _shape_of(nodes),
        tuple(n.uuid for n in nodes),
        {n.uuid: n.summary for n in nodes},
        frozenset().union(*(n.aggregates for n in nodes)),
        tuple(n for n in nodes if SHARES_TRAIT in n.traits),
    )


def _shape_of(nodes: list[Node]) -> TreeShape:
    position = {node.uuid: i for i, node in enumerate(nodes)}
    return shape_of(
        tuple(
            (
                -1 if node.parent_uuid is None else position[node.parent_uuid],
                node.trait_bits,
                node.aggregates,
                tuple(
                    (
                        rc,
                        s.total,
                        s.reserved,
                        s.min_unit,
                        s.max_unit,
                        s.step_size,
                        s.allocation_ratio,
                        s.used,
                    )
                    for rc, s in sorted(node.slots.items())
                ),
            )
            for node in nodes
        )
    )


class TreeMap(Mapping[int, Tree]):
    """Root id -> tree: a base dict shared by successive snapshots plus the trees
    replaced since (same root ids). A claim's snapshot copies only the replacements
    (copying every tree costs milliseconds at 100,000 hosts); past :attr:`FOLD_AT`
    of them they are folded into a new base."""

    __slots__ = ("base", "newer")
    FOLD_AT = 512

    def __init__(self, base: dict[int, Tree], newer: dict[int, Tree] | None = None) -> None:
        self.base = base
        self.newer: dict[int, Tree] = {} if newer is None else newer

    def __getitem__(self, root_id: int) -> Tree:
        tree = self.newer.get(root_id)
        return self.base[root_id] if tree is None else tree

    def __iter__(self) -> Iterator[int]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)

    def __contains__(self, root_id: object) -> bool:
        return root_id in self.base

    def flat(self) -> dict[int, Tree]:
        """Every tree, newest versions, in one new dict."""
        return {**self.base, **self.newer}

    def replaced(self, trees: Mapping[int, Tree]) -> TreeMap:
        """This map with ``trees`` (root ids it has) in place of their old versions."""
        newer = TreeMap(self.base, {**self.newer, **trees})
        return TreeMap(newer.flat()) if len(newer.newer) > self.FOLD_AT else newer


class Snapshot:
    """All trees, indexed by root id, by provider uuid and by resource class.

    Sharing providers (trait :data:`SHARES_TRAIT`) are indexed too: ``sharing_roots``
    are the trees holding one, and :meth:`anchored` the sharing providers of other
    trees that a tree may use (those with an aggregate in common with any of its
    providers). With no sharing provider that index stays empty and costs nothing.
    """

    __slots__ = (
        "_agg_roots",
        "_anchors",
        "bits",
        "change_id",
        "roots_holding",
        "sharing_roots",
        "tree_of_uuid",
        "trees",
        "trees_by_rc",
    )

    def __init__(
        self,
        trees: Mapping[int, Tree],
        bits: TraitBits,
        change_id: int,
        tree_of_uuid: Mapping[str, int] | None = None,
        trees_by_rc: Mapping[str, frozenset[int]] | None = None,
        roots_holding: dict[frozenset[str], list[int]] | None = None,
        sharing_roots: frozenset[int] | None = None,
        anchors: Mapping[int, tuple[str, ...]] | None = None,
        agg_roots: Mapping[str, frozenset[int]] | None = None,
    ) -> None:
        if not isinstance(trees, TreeMap):
            trees = TreeMap(trees if isinstance(trees, dict) else dict(trees))
        self.trees: TreeMap = trees
        self.bits = bits
        self.change_id = change_id
        if tree_of_uuid is None:
            tree_of_uuid = {n.uuid: t.root_id for t in trees.values() for n in t.nodes}
        self.tree_of_uuid = tree_of_uuid
        if trees_by_rc is None:
            index: dict[str, set[int]] = {}
            for tree in trees.values():
                for rc in tree.resource_classes:
                    index.setdefault(rc, set()).add(tree.root_id)
            trees_by_rc = {rc: frozenset(ids) for rc, ids in index.items()}
        self.trees_by_rc = trees_by_rc
        # classes -> sorted root ids of the trees holding all of them (shared by the
        # snapshots that keep the same trees_by_rc)
        self.roots_holding = {} if roots_holding is None else roots_holding
        if sharing_roots is None:
            sharing_roots = frozenset(t.root_id for t in trees.values() if t.sharing)
        self.sharing_roots = sharing_roots
        self._anchors = anchors  # made on first use (only when something shares)
        self._agg_roots = agg_roots

    def anchored(self, root_id: int) -> tuple[str, ...]:
        """Uuids of the sharing providers of other trees that tree ``root_id`` may
        use: each has an aggregate in common with some provider of the tree."""
        if not self.sharing_roots:
            return ()
        return self.anchors().get(root_id, ())

    def anchors(self) -> Mapping[int, tuple[str, ...]]:
        """{root id: uuids of the sharing providers it may use} (see :meth:`anchored`)."""
        found = self._anchors
        if found is None:
            by_root: dict[int, list[str]] = {}
            agg_roots = self.agg_roots()
            for root_id in sorted(self.sharing_roots):
                for node in self.trees[root_id].sharing:
                    reached: set[int] = set()
                    for aggregate in node.aggregates:
                        reached.update(agg_roots.get(aggregate, ()))
                    reached.discard(root_id)
                    for anchor in reached:
                        by_root.setdefault(anchor, []).append(node.uuid)
            found = self._anchors = {root: tuple(uuids) for root, uuids in by_root.items()}
        return found

    def agg_roots(self) -> Mapping[str, frozenset[int]]:
        """{aggregate: root ids of the trees with a provider in it}, made on first use."""
        found = self._agg_roots
        if found is None:
            index: dict[str, set[int]] = {}
            for tree in self.trees.values():
                for aggregate in tree.aggregates:
                    index.setdefault(aggregate, set()).add(tree.root_id)
            found = self._agg_roots = {a: frozenset(ids) for a, ids in index.items()}
        return found

    def roots_with(self, classes: frozenset[str]) -> list[int]:
        """Root ids, sorted, of the trees with inventory of every class in ``classes``
        (every tree for none); do not modify the list."""
        found = self.roots_holding.get(classes)
        if found is None:
            sets = sorted((self.trees_by_rc.get(rc, frozenset()) for rc in classes), key=len)
            if not sets:
                ids: frozenset[int] = frozenset(self.trees)
            else:
                ids = sets[0].intersection(*sets[1:])
            found = sorted(ids)
            if len(self.roots_holding) > 256:
                self.roots_holding.clear()
            self.roots_holding[classes] = found
        return found

    @classmethod
    def empty(cls) -> Snapshot:
        return cls({}, TraitBits(), 0)

    def node(self, uuid: str) -> Node | None:
        root_id = self.tree_of_uuid.get(uuid)
        return None if root_id is None else self.trees[root_id].by_uuid.get(uuid)

    def tree_of(self, uuid: str) -> Tree | None:
        root_id = self.tree_of_uuid.get(uuid)
        return None if root_id is None else self.trees[root_id]

    def with_trees(self, reloaded: Mapping[int, Tree | None], change_id: int) -> Snapshot:
        """A new snapshot where each root id in ``reloaded`` is replaced (None: gone)."""
        old_trees = {root_id: self.trees.get(root_id) for root_id in reloaded}
        same_shape = all(
            old is not None
            and new is not None
            and old.resource_classes == new.resource_classes
            and old.by_uuid.keys() == new.by_uuid.keys()
            and old.aggregates == new.aggregates
            and (
                old.sharing is new.sharing  # both () for a tree that shares nothing
                or [(n.uuid, n.aggregates) for n in old.sharing]
                == [(n.uuid, n.aggregates) for n in new.sharing]
            )
            for old, new in ((old_trees[r], reloaded[r]) for r in reloaded)
        )
        if same_shape:  # the usual claim: only usages or generations changed
            return Snapshot(
                self.trees.replaced({r: t for r, t in reloaded.items() if t is not None}),
                self.bits,
                change_id,
                self.tree_of_uuid,
                self.trees_by_rc,
                self.roots_holding,
                self.sharing_roots,
                self._anchors,
                self._agg_roots,
            )
        trees = self.trees.flat()
        for root_id, new in reloaded.items():
            if new is None:
                trees.pop(root_id, None)
            else:
                trees[root_id] = new
        tree_of_uuid = dict(self.tree_of_uuid)
        removed_from: dict[str, set[int]] = {}
        added_to: dict[str, set[int]] = {}
        for root_id, old in old_trees.items():
            if old is None:
                continue
            for node in old.nodes:
                if tree_of_uuid.get(node.uuid) == root_id:
                    del tree_of_uuid[node.uuid]
            for rc in old.resource_classes:
                removed_from.setdefault(rc, set()).add(root_id)
        for root_id, new in reloaded.items():
            if new is None:
                continue
            for node in new.nodes:
                tree_of_uuid[node.uuid] = root_id
            for rc in new.resource_classes:
                added_to.setdefault(rc, set()).add(root_id)
        trees_by_rc = dict(self.trees_by_rc)
        for rc in set(removed_from) | set(added_to):
            ids = (
                set(trees_by_rc.get(rc, frozenset())) - removed_from.get(rc, set())
            ) | added_to.get(rc, set())
            if ids:
                trees_by_rc[rc] = frozenset(ids)
            else:
                trees_by_rc.pop(rc, None)
        sharing_roots = (self.sharing_roots - reloaded.keys()) | {
            root_id for root_id, new in reloaded.items() if new is not None and new.sharing
        }
        return Snapshot(
            trees,
            self.bits,
            change_id,
            tree_of_uuid,
            trees_by_rc,
            sharing_roots=frozenset(sharing_roots),
            agg_roots=self._patched_agg_roots(old_trees, reloaded),
        )

    def _patched_agg_roots(
        self, old_trees: Mapping[int, Tree | None], reloaded: Mapping[int, Tree | None]
    ) -> Mapping[str, frozenset[int]] | None:
        """The aggregate index with ``reloaded`` in place of ``old_trees`` (None while
        it was never made: it is made when first needed)."""
        if self._agg_roots is None:
            return None
        index = dict(self._agg_roots)
        touched: dict[str, set[int]] = {}
        for root_id, old in old_trees.items():
            for aggregate in old.aggregates if old is not None else ():
                touched.setdefault(aggregate, set(index.get(aggregate, ()))).discard(root_id)
        for root_id, new in reloaded.items():
            for aggregate in new.aggregates if new is not None else ():
                touched.setdefault(aggregate, set(index.get(aggregate, ()))).add(root_id)
        for aggregate, ids in touched.items():
            if ids:
                index[aggregate] = frozenset(ids)
            else:
                index.pop(aggregate, None)
        return index
