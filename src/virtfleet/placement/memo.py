"""Candidates remembered per query shape: per tree state, and per tree.

Trees are immutable and replaced (copy-on-write) whenever anything in them changes.
Two kinds of memo follow from that, both per query shape (compiled groups, root
traits, policy, same_subtree):

* a :class:`Template` per :class:`~virtfleet.placement.snapshot.TreeShape`: the
  candidates of one tree in that state, with providers written as positions in the
  tree. Every tree in the same state (a fleet has thousands of identical free slice
  trees, and compute hosts in a handful of fill levels) shares one search; the
  template grows lazily, as far as some query needed it;
* a :class:`TreeEntry` per tree: the template's candidates written with this tree's
  provider uuids, as far as some query needed them, kept for as long as the snapshot
  holds the same tree object — a repeated query (the scheduler asks for the same
  flavors again and again) reuses the same objects and their JSON.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import NamedTuple

from virtfleet.placement.snapshot import Tree, TreeShape
from virtfleet.placement.types import AllocationRequest, Allocations, Mappings

DEFAULT_SHAPES = 32
MAX_TEMPLATES = 50_000  # per query shape; all are dropped (and rebuilt lazily) beyond


class IndexedRequest(NamedTuple):
    """A candidate with providers as positions in their tree (tree order)."""

    allocations: tuple[tuple[int, Mapping[str, int]], ...]  # by position
    mappings: tuple[tuple[str, tuple[int, ...]], ...]
    json_format: str | None  # str.format template over the tree's uuids

    def renamed(self, names: Sequence[str]) -> tuple[Allocations, Mappings]:
        """Allocations and mappings in the tree whose uuids (tree order) are ``names``."""
        allocations = {names[i]: res for i, res in self.allocations}
        mappings: Mappings = {}
        for suffix, positions in self.mappings:
            if len(positions) == 1:
                mappings[suffix] = [names[positions[0]]]
            else:
                mappings[suffix] = sorted(names[i] for i in positions)
        return allocations, mappings


class _Indexer:
    """Writes one tree's candidates as :class:`IndexedRequest`; the permutations of
    one assignment share its allocations object, so those (and their JSON) are
    converted once per assignment."""

    __slots__ = ("_last", "_position")

    def __init__(self, position: Mapping[str, int]) -> None:
        self._position = position
        self._last: tuple[object, tuple[tuple[int, Mapping[str, int]], ...], str] | None = None

    def __call__(self, request: AllocationRequest) -> IndexedRequest:
        position = self._position
        last = self._last
        if last is not None and last[0] is request.allocations:
            allocations, allocs_text = last[1], last[2]
        else:
            allocations = tuple(
                sorted(((position[rp], res) for rp, res in request.allocations.items()), key=_first)
            )
            allocs_text = _allocations_format(allocations)
            self._last = (request.allocations, allocations, allocs_text)
        mappings = tuple(
            (suffix, tuple(position[rp] for rp in rps)) for suffix, rps in request.mappings.items()
        )
        return IndexedRequest(allocations, mappings, _json_format(allocs_text, mappings))


def _first(pair: tuple[int, object]) -> int:
    return pair[0]


# In the texts below \x00 and \x01 stand for the braces of a ``{position}`` placeholder
# until the literal braces are doubled for str.format.


def _allocations_format(allocations: Sequence[tuple[int, Mapping[str, int]]]) -> str:
    return ", ".join(
        f'"\x00{i}\x01": {{"resources": {{'
        + ", ".join(f'"{rc}": {amount}' for rc, amount in sorted(res.items()))
        + "}}"
        for i, res in allocations
    )


def _json_format(allocs_text: str, mappings: Sequence[tuple[str, tuple[int, ...]]]) -> str | None:
    """The 1.34+ JSON of a candidate with ``{position}`` for each provider uuid (None
    for a mapping of several providers, whose order follows the uuids)."""
    if any(len(positions) != 1 for _suffix, positions in mappings):
        return None
    maps = ", ".join(f'"{suffix}": ["\x00{positions[0]}\x01"]' for suffix, positions in mappings)
    text = f'{{"allocations": {{{allocs_text}}}, "mappings": {{{maps}}}}}'
    return text.replace("{", "{{").replace("}", "}}").replace("\x00", "{").replace("\x01", "}")


#: How to search one tree: its candidates in search order.
Search = Callable[[Tree], Iterator[AllocationRequest]]


class Template:
    """The candidates of a tree state, found lazily by searching one tree in it."""

    __slots__ = ("_indexed", "_lock", "_source", "complete", "found")

    def __init__(self, tree: Tree, search: Search) -> None:
        self.found: list[IndexedRequest] = []
        self.complete = False
        self._indexed = _Indexer({uuid: i for i, uuid in enumerate(tree.uuids)})
        self._source: Iterator[AllocationRequest] | None = search(tree)
        self._lock = threading.Lock()
        if len(tree.nodes) == 1:  # at most one candidate: take it now
            self.available(2)

    def available(self, wanted: int) -> int:
        """How many candidates there are, counting at least ``wanted`` if there are."""
        found = self.found
        if len(found) >= wanted or self.complete:
            return len(found)
        with self._lock:
            source = self._source
            while len(found) < wanted and source is not None:
                request = next(source, None)
                if request is None:
                    self.complete, self._source, source = True, None, None
                else:
                    found.append(self._indexed(request))
            return len(found)


class TreeEntry:
    """One tree's candidates (from its state's template) with its own uuids."""

    __slots__ = ("requests", "template", "tree")

    def __init__(self, tree: Tree, template: Template) -> None:
        self.tree = tree
        self.template = template
        self.requests: tuple[AllocationRequest, ...] = ()

    def take(self, count: int) -> tuple[AllocationRequest, ...]:
        """At least the first ``count`` candidates (fewer if the tree has fewer)."""
        have = self.requests
        if len(have) < count:
            found = self.template.found
            self.template.available(count)
            names = self.tree.uuids
            end = min(count, len(found))
            have = have + tuple(
                AllocationRequest.renamed_from(found[i], names) for i in range(len(have), end)
            )
            self.requests = have  # a racing thread may store an equal tuple: harmless
        return have


class ShapeMemo:
    """The templates (by tree state) and tree entries (by root id) of one query shape."""

    __slots__ = ("templates", "trees")

    def __init__(self) -> None:
        self.templates: dict[TreeShape, Template] = {}
        self.trees: dict[int, TreeEntry] = {}

    def entry(self, tree: Tree, search: Search) -> TreeEntry:
        """The entry of ``tree`` (new if the tree changed), sharing its state's template."""
        entry = self.trees.get(tree.root_id)
        if entry is not None and entry.tree is tree:
            return entry
        template = self.templates.get(tree.shape)
        if template is None:
            if len(self.templates) >= MAX_TEMPLATES:
                self.templates.clear()
            template = self.templates[tree.shape] = Template(tree, search)
        entry = self.trees[tree.root_id] = TreeEntry(tree, template)
        return entry


class FirstCandidates:
    """A :class:`ShapeMemo` per query shape; the least recently used shape goes
    beyond ``shapes``."""

    def __init__(self, shapes: int = DEFAULT_SHAPES) -> None:
        self._shapes = shapes
        self._memos: OrderedDict[Hashable, ShapeMemo] = OrderedDict()
        self._lock = threading.Lock()

    def memo(self, shape: Hashable) -> ShapeMemo:
        """The memo of ``shape`` (new and empty the first time)."""
        with self._lock:
            found = self._memos.get(shape)
            if found is None:
                found = self._memos[shape] = ShapeMemo()
                if len(self._memos) > self._shapes:
                    self._memos.popitem(last=False)
            else:
                self._memos.move_to_end(shape)
            return found

    def clear(self) -> None:
        with self._lock:
            self._memos.clear()
