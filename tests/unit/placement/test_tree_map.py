"""A snapshot after a claim shares its trees with the one before (TreeMap): the old
snapshot stays as it was, the new one sees the replaced trees, and the replacements
are folded into a new base once there are many."""

from __future__ import annotations

from virtfleet.placement.snapshot import (
    ProviderRow,
    Snapshot,
    TraitBits,
    Tree,
    TreeMap,
    build_tree,
    make_slot,
)


def host_tree(root_id: int, bits: TraitBits, used: int = 0, name: str = "") -> Tree:
    slots = {"VCPU": make_slot(8, 0, 1, 8, 1, 1.0, used)}
    row = ProviderRow(root_id, f"u-{root_id}{name}", f"h-{root_id}{name}", 1, None, root_id,
                      slots=slots)  # fmt: skip
    tree = build_tree([row], bits)
    assert tree is not None
    return tree


def snapshot(hosts: int) -> Snapshot:
    bits = TraitBits()
    return Snapshot({i: host_tree(i, bits) for i in range(1, hosts + 1)}, bits, 1)


def test_a_claim_replaces_one_tree_and_leaves_the_old_snapshot_alone() -> None:
    before = snapshot(3)
    used = host_tree(2, before.bits, used=4)
    after = before.with_trees({2: used}, 2)
    assert after.trees[2] is used and before.trees[2] is not used
    assert after.trees.base is before.trees.base  # nothing copied but the replacement
    assert list(after.trees) == [1, 2, 3] and len(after.trees) == 3
    assert after.trees.get(9) is None and 9 not in after.trees
    assert after.tree_of("u-2") is used
    assert [t.root_id for t in after.trees.values()] == [1, 2, 3]


def test_replacements_are_folded_into_a_new_base_past_the_limit() -> None:
    current = snapshot(TreeMap.FOLD_AT + 10)
    first = current.trees.base
    for root_id in range(1, TreeMap.FOLD_AT + 2):
        current = current.with_trees({root_id: host_tree(root_id, current.bits, used=1)}, 2)
    assert current.trees.base is not first and not current.trees.newer
    assert all(current.trees[r].nodes[0].slots["VCPU"].used == 1
               for r in range(1, TreeMap.FOLD_AT + 2))  # fmt: skip
    assert current.trees[TreeMap.FOLD_AT + 5].nodes[0].slots["VCPU"].used == 0


def test_a_tree_that_changes_shape_or_goes_rebuilds_the_indexes() -> None:
    before = snapshot(3)
    before = before.with_trees({1: host_tree(1, before.bits, used=1)}, 2)  # one replaced
    renamed = host_tree(3, before.bits, name="-new")
    after = before.with_trees({2: None, 3: renamed}, 3)
    assert list(after.trees) == [1, 3]
    assert after.trees[1].nodes[0].slots["VCPU"].used == 1  # the earlier claim kept
    assert after.tree_of("u-3-new") is renamed and after.tree_of("u-3") is None
    assert after.tree_of("u-2") is None and before.tree_of("u-2") is not None
    assert after.roots_with(frozenset({"VCPU"})) == [1, 3]
