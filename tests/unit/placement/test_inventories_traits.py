"""Inventories, traits, resource classes: generations, validation, in-use rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.unit.placement.conftest import add_provider

from virtfleet import errors
from virtfleet.placement import exceptions as exc
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory

CONSUMER = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
CONSUMER2 = "cccccccc-cccc-4ccc-8ccc-cccccccccccd"


def test_inventory_defaults_and_capacity() -> None:
    inv = Inventory(total=10, reserved=2, allocation_ratio=1.5)
    assert (inv.min_unit, inv.max_unit, inv.step_size) == (1, 10, 1)
    assert inv.capacity == 12


def test_set_and_get_inventories_bump_generation(svc: PlacementService) -> None:
    rp = svc.create_provider("cn")
    inventories = {"VCPU": Inventory(8, allocation_ratio=2.0), "MEMORY_MB": Inventory(4096, 512)}
    generation = svc.set_inventories(rp.uuid, 0, inventories)
    assert generation == 1
    assert svc.get_inventories(rp.uuid) == (1, inventories)
    generation = svc.set_inventory(rp.uuid, generation, "DISK_GB", Inventory(100, step_size=10))
    assert generation == 2
    assert set(svc.get_inventories(rp.uuid)[1]) == {"VCPU", "MEMORY_MB", "DISK_GB"}
    generation = svc.delete_inventory(rp.uuid, generation, "DISK_GB")
    assert (generation, set(svc.get_inventories(rp.uuid)[1])) == (3, {"VCPU", "MEMORY_MB"})
    assert svc.delete_inventories(rp.uuid, generation) == 4
    assert svc.get_inventories(rp.uuid) == (4, {})


def test_stale_generation_is_a_concurrent_update(svc: PlacementService) -> None:
    rp = svc.create_provider("cn")
    svc.set_inventories(rp.uuid, 0, {"VCPU": Inventory(8)})
    calls: list[Callable[[], object]] = [
        lambda: svc.set_inventories(rp.uuid, 0, {"VCPU": Inventory(4)}),
        lambda: svc.set_inventory(rp.uuid, 0, "VCPU", Inventory(4)),
        lambda: svc.delete_inventory(rp.uuid, 0, "VCPU"),
        lambda: svc.set_provider_traits(rp.uuid, 0, ["HW_CPU_X86_AVX2"]),
    ]
    for call in calls:
        with pytest.raises(exc.ConcurrentUpdate) as stale:
            call()
        assert stale.value.code == exc.CONCURRENT_UPDATE
        assert isinstance(stale.value, errors.ConcurrentUpdate)
    assert svc.get_inventories(rp.uuid) == (1, {"VCPU": Inventory(8)})


@pytest.mark.parametrize(
    ("inventory", "message"),
    [
        (Inventory(total=0), "total"),
        (Inventory(total=4, reserved=5), "reserved"),
        (Inventory(total=4, min_unit=3, max_unit=2), "min_unit"),
        (Inventory(total=4, step_size=0), "step_size"),
        (Inventory(total=4, allocation_ratio=0.0), "allocation_ratio"),
        (Inventory(total=2**31), "total"),
    ],
)
def test_invalid_inventories(svc: PlacementService, inventory: Inventory, message: str) -> None:
    rp = svc.create_provider("cn")
    with pytest.raises(errors.InvalidInput, match=message):
        svc.set_inventories(rp.uuid, 0, {"VCPU": inventory})
    assert svc.get_inventories(rp.uuid) == (0, {})


def test_unknown_resource_class_in_inventory(svc: PlacementService) -> None:
    rp = svc.create_provider("cn")
    with pytest.raises(errors.InvalidInput, match="CUSTOM_NOPE"):
        svc.set_inventories(rp.uuid, 0, {"CUSTOM_NOPE": Inventory(1)})


def test_inventory_in_use(svc: PlacementService) -> None:
    rp = add_provider(svc, "cn", {"VCPU": 8, "MEMORY_MB": 1024})
    svc.replace_allocations(CONSUMER, {rp.uuid: {"VCPU": 6}}, "p", "u", None)
    generation = svc.get_provider(rp.uuid).generation
    with pytest.raises(exc.Conflict) as removed:
        svc.set_inventories(rp.uuid, generation, {"MEMORY_MB": Inventory(1024)})
    assert removed.value.code == exc.INVENTORY_INUSE
    # As in Placement, capacity may drop below usage: the allocations stay and
    # nothing more fits until usage falls below the new capacity.
    generation = svc.set_inventory(rp.uuid, generation, "VCPU", Inventory(8, reserved=3))
    assert svc.provider_usages(rp.uuid)[1]["VCPU"] == 6
    with pytest.raises(exc.Conflict):
        svc.replace_allocations(CONSUMER2, {rp.uuid: {"VCPU": 1}}, "p", "u", None)
    with pytest.raises(exc.Conflict):
        svc.delete_inventory(rp.uuid, generation, "VCPU")
    with pytest.raises(exc.Conflict):
        svc.delete_inventories(rp.uuid, generation)
    # Unused classes may go, and growing is fine.
    generation = svc.delete_inventory(rp.uuid, generation, "MEMORY_MB")
    svc.set_inventory(rp.uuid, generation, "VCPU", Inventory(6))
    with pytest.raises(errors.NotFound):
        svc.delete_inventory(rp.uuid, None, "MEMORY_MB")


def test_traits_catalog(svc: PlacementService) -> None:
    assert "HW_CPU_X86_AVX2" in svc.list_traits()
    assert svc.ensure_trait("CUSTOM_GOLD") is True
    assert svc.ensure_trait("CUSTOM_GOLD") is False
    assert svc.list_traits("startswith:CUSTOM_") == ["CUSTOM_GOLD"]
    assert svc.list_traits("in:CUSTOM_GOLD,HW_CPU_X86_AVX2,NOPE") == [
        "CUSTOM_GOLD",
        "HW_CPU_X86_AVX2",
    ]
    with pytest.raises(errors.InvalidInput, match="name"):
        svc.list_traits("CUSTOM_GOLD")
    for bad in ("HW_NOT_CUSTOM", "CUSTOM_lower", "CUSTOM_"):
        with pytest.raises(errors.InvalidInput):
            svc.ensure_trait(bad)


def test_provider_traits_and_trait_deletion(svc: PlacementService) -> None:
    rp = svc.create_provider("cn")
    svc.ensure_trait("CUSTOM_GOLD")
    generation = svc.set_provider_traits(rp.uuid, 0, ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"])
    assert svc.get_provider_traits(rp.uuid) == (1, {"CUSTOM_GOLD", "HW_CPU_X86_AVX2"})
    assert svc.list_traits("startswith:CUSTOM", associated=True) == ["CUSTOM_GOLD"]
    assert "CUSTOM_GOLD" not in svc.list_traits(associated=False)
    with pytest.raises(errors.InvalidInput, match="CUSTOM_MISSING"):
        svc.set_provider_traits(rp.uuid, generation, ["CUSTOM_MISSING"])
    with pytest.raises(errors.Conflict, match="in use"):
        svc.delete_trait("CUSTOM_GOLD")
    with pytest.raises(errors.InvalidInput, match="standard"):
        svc.delete_trait("HW_CPU_X86_AVX2")
    generation = svc.delete_provider_traits(rp.uuid, generation)
    assert svc.get_provider_traits(rp.uuid) == (generation, set())
    svc.delete_trait("CUSTOM_GOLD")
    with pytest.raises(errors.NotFound):
        svc.delete_trait("CUSTOM_GOLD")


def test_resource_classes(svc: PlacementService) -> None:
    classes = svc.list_resource_classes()
    assert classes[:3] == ["VCPU", "MEMORY_MB", "DISK_GB"]
    svc.create_resource_class("CUSTOM_SLICE_1")
    with pytest.raises(errors.Conflict):
        svc.create_resource_class("CUSTOM_SLICE_1")
    assert svc.ensure_resource_class("CUSTOM_SLICE_1") is False
    assert svc.ensure_resource_class("CUSTOM_SLICE_4") is True
    assert svc.get_resource_class("VCPU") == "VCPU"
    assert svc.list_resource_classes()[-2:] == ["CUSTOM_SLICE_1", "CUSTOM_SLICE_4"]
    for bad in ("VCPU", "SLICE", "CUSTOM_bad"):
        with pytest.raises(errors.InvalidInput):
            svc.create_resource_class(bad)
    with pytest.raises(errors.InvalidInput, match="standard"):
        svc.delete_resource_class("VCPU")
    add_provider(svc, "cn", {"CUSTOM_SLICE_1": 1})
    with pytest.raises(errors.Conflict, match="in use"):
        svc.delete_resource_class("CUSTOM_SLICE_1")
    svc.delete_resource_class("CUSTOM_SLICE_4")
    with pytest.raises(errors.NotFound):
        svc.get_resource_class("CUSTOM_SLICE_4")


def test_generation_bump_guards_against_a_concurrent_writer(svc: PlacementService) -> None:
    """The UPDATE ... WHERE generation=:gen itself refuses a stale generation."""
    from virtfleet.placement.dbutil import bump_generation, provider_row

    rp = svc.create_provider("cn")
    with svc.db.write() as conn:
        row = provider_row(conn, rp.uuid)
        assert bump_generation(conn, row.id, row.generation) == 1
        with pytest.raises(exc.ConcurrentUpdate):
            bump_generation(conn, row.id, row.generation)  # someone got there first
    assert svc.get_provider(rp.uuid).generation == 1
