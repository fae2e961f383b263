"""A memo of each tree's first allocation candidates per query shape.

Trees are immutable and replaced (copy-on-write) whenever anything in them changes,
so "the first candidates of this tree for this query shape" stay true for as long
as the snapshot holds the same tree object. Between two claims only a few trees
change; a repeated query shape (the scheduler asks for the same flavors again and
again) then re-examines just those and reuses the answer of every other tree.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import NamedTuple

from virtfleet.placement.snapshot import Tree
from virtfleet.placement.types import AllocationRequest


class Known(NamedTuple):
    """What is known of one tree: its candidates found so far, in search order
    (before permutations among interchangeable groups), and whether that is all."""

    tree: Tree
    found: tuple[AllocationRequest, ...]
    complete: bool


#: root id -> what is known of that tree
TreeMemo = dict[int, Known]

DEFAULT_SHAPES = 32
KEEP_PER_TREE = 64  # candidates remembered per tree and shape


class FirstCandidates:
    """Per query shape (compiled groups, root traits, policy, same_subtree), a
    :data:`TreeMemo`; the least recently used shape goes beyond ``shapes``."""

    def __init__(self, shapes: int = DEFAULT_SHAPES) -> None:
        self._shapes = shapes
        self._memos: OrderedDict[Hashable, TreeMemo] = OrderedDict()
        self._lock = threading.Lock()

    def memo(self, shape: Hashable) -> TreeMemo:
        """The memo of ``shape`` (new and empty the first time)."""
        with self._lock:
            found = self._memos.get(shape)
            if found is None:
                found = self._memos[shape] = {}
                if len(self._memos) > self._shapes:
                    self._memos.popitem(last=False)
            else:
                self._memos.move_to_end(shape)
            return found

    def clear(self) -> None:
        with self._lock:
            self._memos.clear()
