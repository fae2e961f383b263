"""Providers: creation, nesting, listing filters, re-parenting, deletion rules."""

from __future__ import annotations

import pytest
from tests.unit.placement.conftest import add_provider

from virtfleet import errors
from virtfleet.placement import exceptions as exc
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory, Provider

UUID1 = "11111111-1111-4111-8111-111111111111"


def test_create_root_and_children_link_parent_and_root(svc: PlacementService) -> None:
    root = svc.create_provider("cn1", uuid=UUID1)
    child = svc.create_provider("cn1-gpu", parent_uuid=root.uuid)
    grandchild = svc.create_provider("cn1-gpu-0", parent_uuid=child.uuid)
    assert root.uuid == UUID1 and root.root_uuid == UUID1 and root.parent_uuid is None
    assert root.generation == 0
    assert child.parent_uuid == root.uuid and child.root_uuid == root.uuid
    assert svc.get_provider(grandchild.uuid).root_uuid == root.uuid
    assert svc.get_provider(grandchild.uuid).parent_uuid == child.uuid


def test_duplicate_name_and_uuid_are_conflicts(svc: PlacementService) -> None:
    svc.create_provider("cn1", uuid=UUID1)
    with pytest.raises(exc.Conflict) as name_clash:
        svc.create_provider("cn1")
    assert name_clash.value.code == exc.DUPLICATE_NAME
    with pytest.raises(errors.Conflict, match=UUID1):
        svc.create_provider("other", uuid=UUID1)


def test_bad_input_is_rejected(svc: PlacementService) -> None:
    with pytest.raises(errors.InvalidInput, match="not-a-uuid"):
        svc.create_provider("x", uuid="not-a-uuid")
    with pytest.raises(errors.InvalidInput, match="does not exist"):
        svc.create_provider("x", parent_uuid=UUID1)
    with pytest.raises(errors.InvalidInput, match="name"):
        svc.create_provider("")


def test_get_missing_provider_is_not_found_with_code(svc: PlacementService) -> None:
    with pytest.raises(exc.NotFound) as missing:
        svc.get_provider(UUID1)
    assert missing.value.code == exc.RESOURCE_PROVIDER_NOT_FOUND
    assert UUID1 in str(missing.value)


def test_list_filters(svc: PlacementService) -> None:
    svc.ensure_resource_class("CUSTOM_GPU")
    a = add_provider(svc, "a", {"VCPU": 4}, {"HW_CPU_X86_AVX2"})
    gpu = add_provider(svc, "a-gpu", {"CUSTOM_GPU": 2}, parent=a)
    b = add_provider(
        svc, "b", {"VCPU": Inventory(total=8, reserved=7)}, {"COMPUTE_STATUS_DISABLED"}
    )

    def uuids(providers: list[Provider]) -> list[str]:
        return [p.uuid for p in providers]

    assert uuids(svc.list_providers()) == [a.uuid, gpu.uuid, b.uuid]
    assert uuids(svc.list_providers(name="b")) == [b.uuid]
    assert uuids(svc.list_providers(uuid=gpu.uuid)) == [gpu.uuid]
    assert uuids(svc.list_providers(in_tree=gpu.uuid)) == [a.uuid, gpu.uuid]
    assert svc.list_providers(in_tree=UUID1) == []
    assert uuids(svc.list_providers(resources={"VCPU": 2})) == [a.uuid]  # b has 1 free
    assert uuids(svc.list_providers(required=[frozenset({"HW_CPU_X86_AVX2"})])) == [a.uuid]
    assert uuids(
        svc.list_providers(required=[frozenset({"HW_CPU_X86_AVX2", "COMPUTE_STATUS_DISABLED"})])
    ) == [a.uuid, b.uuid]
    assert uuids(svc.list_providers(forbidden=frozenset({"COMPUTE_STATUS_DISABLED"}))) == [
        a.uuid,
        gpu.uuid,
    ]


def test_member_of_filters_by_aggregate(svc: PlacementService) -> None:
    agg = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    a = add_provider(svc, "a", {"VCPU": 4})
    add_provider(svc, "b", {"VCPU": 4})
    generation = svc.set_provider_aggregates(a.uuid, a.generation, [agg])
    assert generation == a.generation + 1
    assert svc.get_provider_aggregates(a.uuid) == (generation, {agg})
    assert [p.uuid for p in svc.list_providers(member_of=[frozenset({agg})])] == [a.uuid]
    assert [p.name for p in svc.list_providers(forbidden_aggregates=frozenset({agg}))] == ["b"]


def test_rename_reparent_and_unparent(svc: PlacementService) -> None:
    a = svc.create_provider("a")
    b = svc.create_provider("b")
    child = svc.create_provider("child", parent_uuid=a.uuid)
    leaf = svc.create_provider("leaf", parent_uuid=child.uuid)
    moved = svc.update_provider(child.uuid, "child2", b.uuid)
    assert (moved.name, moved.parent_uuid, moved.root_uuid) == ("child2", b.uuid, b.uuid)
    assert svc.get_provider(leaf.uuid).root_uuid == b.uuid
    assert [p.name for p in svc.list_providers(in_tree=b.uuid)] == ["b", "child2", "leaf"]
    freed = svc.update_provider(child.uuid, "child2", None)
    assert freed.root_uuid == child.uuid and freed.parent_uuid is None
    assert svc.get_provider(leaf.uuid).root_uuid == child.uuid
    assert [p.name for p in svc.list_providers(in_tree=a.uuid)] == ["a"]


def test_reparent_rules(svc: PlacementService) -> None:
    a = svc.create_provider("a")
    child = svc.create_provider("child", parent_uuid=a.uuid)
    leaf = svc.create_provider("leaf", parent_uuid=child.uuid)
    with pytest.raises(errors.InvalidInput, match="loop"):
        svc.update_provider(child.uuid, "child", leaf.uuid)
    with pytest.raises(errors.InvalidInput, match="loop"):
        svc.update_provider(a.uuid, "a", a.uuid)
    other = svc.create_provider("other")
    with pytest.raises(errors.InvalidInput, match="re-parent"):
        svc.update_provider(child.uuid, "child", other.uuid, allow_reparent=False)
    # Setting a parent on a root was always allowed.
    assert svc.update_provider(other.uuid, "other", a.uuid, allow_reparent=False).root_uuid == (
        a.uuid
    )
    with pytest.raises(exc.Conflict) as clash:
        svc.update_provider(other.uuid, "a", a.uuid)
    assert clash.value.code == exc.DUPLICATE_NAME


def test_delete_rules(svc: PlacementService) -> None:
    parent = add_provider(svc, "p", {"VCPU": 4})
    child = add_provider(svc, "c", {"VCPU": 4}, parent=parent)
    with pytest.raises(exc.Conflict) as has_child:
        svc.delete_provider(parent.uuid)
    assert has_child.value.code == exc.PROVIDER_CANNOT_DELETE_PARENT
    consumer = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
    svc.replace_allocations(consumer, {child.uuid: {"VCPU": 1}}, "p", "u", None)
    with pytest.raises(exc.Conflict) as in_use:
        svc.delete_provider(child.uuid)
    assert in_use.value.code == exc.PROVIDER_IN_USE
    svc.delete_allocations(consumer)
    svc.delete_provider(child.uuid)
    svc.delete_provider(parent.uuid)
    assert svc.list_providers() == []
    with pytest.raises(errors.NotFound):
        svc.delete_provider(parent.uuid)
