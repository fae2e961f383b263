"""Allocations: replace semantics, consumer generations, capacity, units, moves,
usages, provider generations, and a race for the last units."""

from __future__ import annotations

import threading
import uuid

import pytest
from tests.unit.placement.conftest import add_provider

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.placement import allocations_db
from virtfleet.placement import exceptions as exc
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import ConsumerRequest, Inventory, TypeUsage

C1 = "c1c1c1c1-0000-4000-8000-000000000001"
C2 = "c2c2c2c2-0000-4000-8000-000000000002"


def test_new_consumer_then_replace_then_empty_deletes(svc: PlacementService) -> None:
    rp = add_provider(svc, "cn", {"VCPU": 8, "MEMORY_MB": 1024})
    svc.replace_allocations(
        C1, {rp.uuid: {"VCPU": 2, "MEMORY_MB": 512}}, "p", "u", None, "INSTANCE"
    )
    got = svc.get_consumer_allocations(C1)
    assert got.consumer_generation == 1
    assert (got.project_id, got.user_id, got.consumer_type) == ("p", "u", "INSTANCE")
    assert got.allocations[rp.uuid].resources == {"VCPU": 2, "MEMORY_MB": 512}
    assert got.allocations[rp.uuid].generation == svc.get_provider(rp.uuid).generation
    svc.replace_allocations(C1, {rp.uuid: {"VCPU": 4}}, "p", "u", 1)
    got = svc.get_consumer_allocations(C1)
    assert got.consumer_generation == 2
    assert got.allocations[rp.uuid].resources == {"VCPU": 4}
    assert svc.provider_usages(rp.uuid)[1] == {"VCPU": 4, "MEMORY_MB": 0}
    svc.replace_allocations(C1, {}, "p", "u", 2)
    empty = svc.get_consumer_allocations(C1)
    assert empty.allocations == {} and empty.consumer_generation is None
    assert svc.provider_usages(rp.uuid)[1] == {"VCPU": 0, "MEMORY_MB": 0}


def test_consumer_generation_conflicts(svc: PlacementService) -> None:
    rp = add_provider(svc, "cn", {"VCPU": 8})
    with pytest.raises(exc.ConcurrentUpdate, match="expected 3"):
        svc.replace_allocations(C1, {rp.uuid: {"VCPU": 1}}, "p", "u", 3)
    svc.replace_allocations(C1, {rp.uuid: {"VCPU": 1}}, "p", "u", None)
    for stale in (None, 0, 2):
        with pytest.raises(exc.ConcurrentUpdate) as conflict:
            svc.replace_allocations(C1, {rp.uuid: {"VCPU": 2}}, "p", "u", stale)
        assert conflict.value.code == exc.CONCURRENT_UPDATE
    assert svc.get_consumer_allocations(C1).allocations[rp.uuid].resources == {"VCPU": 1}


def test_provider_generation_bumps_on_every_allocation_change(svc: PlacementService) -> None:
    a = add_provider(svc, "a", {"VCPU": 8})
    b = add_provider(svc, "b", {"VCPU": 8})
    svc.replace_allocations(C1, {a.uuid: {"VCPU": 1}}, "p", "u", None)
    assert svc.get_provider(a.uuid).generation == a.generation + 1
    svc.replace_allocations(C1, {b.uuid: {"VCPU": 1}}, "p", "u", 1)  # leaves a, lands on b
    assert svc.get_provider(a.uuid).generation == a.generation + 2
    assert svc.get_provider(b.uuid).generation == b.generation + 1
    svc.delete_allocations(C1)
    assert svc.get_provider(b.uuid).generation == b.generation + 2
    with pytest.raises(errors.NotFound):
        svc.delete_allocations(C1)


def test_capacity_counts_reserved_and_ratio(svc: PlacementService) -> None:
    rp = add_provider(
        svc, "cn", {"VCPU": Inventory(4, reserved=1, max_unit=6, allocation_ratio=2.0)}
    )
    svc.replace_allocations(C1, {rp.uuid: {"VCPU": 4}}, "p", "u", None)
    svc.replace_allocations(C2, {rp.uuid: {"VCPU": 2}}, "p", "u", None)  # capacity 6
    with pytest.raises(errors.Conflict, match="exceed the capacity"):
        svc.replace_allocations(C1, {rp.uuid: {"VCPU": 5}}, "p", "u", 1)
    assert svc.provider_usages(rp.uuid)[1] == {"VCPU": 6}


@pytest.mark.parametrize("amount", [1, 5, 9, 3])
def test_unit_constraints(svc: PlacementService, amount: int) -> None:
    rp = add_provider(svc, "cn", {"VCPU": Inventory(16, min_unit=2, max_unit=8, step_size=2)})
    with pytest.raises(errors.Conflict, match="min_unit"):  # a 409, as upstream
        svc.replace_allocations(C1, {rp.uuid: {"VCPU": amount}}, "p", "u", None)
    svc.replace_allocations(C1, {rp.uuid: {"VCPU": 8}}, "p", "u", None)


def test_a_class_the_provider_lacks_is_a_conflict(svc: PlacementService) -> None:
    rp = add_provider(svc, "cn", {"VCPU": 8})
    with pytest.raises(errors.Conflict, match="MEMORY_MB"):
        svc.replace_allocations(C1, {rp.uuid: {"MEMORY_MB": 1}}, "p", "u", None)


def test_bad_allocation_requests(svc: PlacementService) -> None:
    rp = add_provider(svc, "cn", {"VCPU": 8})
    missing = str(uuid.uuid4())
    cases: list[tuple[dict[str, dict[str, int]], str]] = [
        ({missing: {"VCPU": 1}}, missing),
        ({rp.uuid: {"CUSTOM_NOPE": 1}}, "CUSTOM_NOPE"),
        ({rp.uuid: {"VCPU": 0}}, "VCPU"),
        ({rp.uuid: {}}, rp.uuid),
    ]
    for allocations, named in cases:
        with pytest.raises(errors.InvalidInput, match=named):
            svc.replace_allocations(C1, allocations, "p", "u", None)
    with pytest.raises(errors.InvalidInput, match="consumer_type"):
        svc.replace_allocations(C1, {rp.uuid: {"VCPU": 1}}, "p", "u", None, "lower")
    with pytest.raises(errors.InvalidInput, match="project_id"):
        svc.replace_allocations(C1, {rp.uuid: {"VCPU": 1}}, "", "u", None)
    assert svc.get_consumer_allocations(C1).allocations == {}
    assert svc.get_provider(rp.uuid).generation == rp.generation


def test_replace_many_moves_atomically(svc: PlacementService) -> None:
    src = add_provider(svc, "src", {"VCPU": 4})
    dst = add_provider(svc, "dst", {"VCPU": 4})
    svc.replace_allocations(C1, {src.uuid: {"VCPU": 4}}, "p", "u", None)
    # A migration: the instance moves to dst, the migration consumer holds src.
    svc.replace_many(
        {
            C1: ConsumerRequest({dst.uuid: {"VCPU": 4}}, "p", "u", 1),
            C2: ConsumerRequest({src.uuid: {"VCPU": 4}}, "p", "u", None, "MIGRATION"),
        }
    )
    assert svc.get_consumer_allocations(C1).allocations[dst.uuid].resources == {"VCPU": 4}
    assert svc.get_consumer_allocations(C2).allocations[src.uuid].resources == {"VCPU": 4}
    # One failing consumer undoes the whole batch.
    with pytest.raises(errors.Conflict):
        svc.replace_many(
            {
                C2: ConsumerRequest({}, "p", "u", 1),
                str(uuid.uuid4()): ConsumerRequest({dst.uuid: {"VCPU": 1}}, "p", "u", None),
            }
        )
    assert svc.get_consumer_allocations(C2).consumer_generation == 1
    assert svc.provider_usages(src.uuid)[1] == {"VCPU": 4}


def test_provider_allocations_and_usages(svc: PlacementService) -> None:
    rp = add_provider(svc, "cn", {"VCPU": 8, "MEMORY_MB": 4096})
    svc.replace_allocations(C1, {rp.uuid: {"VCPU": 2}}, "p", "u1", None, "INSTANCE")
    svc.replace_allocations(C2, {rp.uuid: {"VCPU": 1, "MEMORY_MB": 64}}, "p", "u2", None)
    listed = svc.get_provider_allocations(rp.uuid)
    assert listed.generation == svc.get_provider(rp.uuid).generation
    assert {c: v.resources for c, v in listed.consumers.items()} == {
        C1: {"VCPU": 2},
        C2: {"VCPU": 1, "MEMORY_MB": 64},
    }
    assert svc.usages("p") == {
        "INSTANCE": TypeUsage(1, {"VCPU": 2}),
        "unknown": TypeUsage(1, {"VCPU": 1, "MEMORY_MB": 64}),
    }
    assert svc.usages("p", consumer_type="all") == {
        "all": TypeUsage(2, {"VCPU": 3, "MEMORY_MB": 64})
    }
    assert svc.usages("p", consumer_type="unknown") == {
        "unknown": TypeUsage(1, {"VCPU": 1, "MEMORY_MB": 64})
    }
    assert svc.usages("p", user_id="u1") == {"INSTANCE": TypeUsage(1, {"VCPU": 2})}
    assert svc.total_usages("p") == {"VCPU": 3, "MEMORY_MB": 64}
    assert svc.usages("other") == {}


def test_sixteen_threads_race_for_the_last_units(db: Database) -> None:
    setup = PlacementService(db)
    rp = add_provider(setup, "cn", {"VCPU": 100})
    setup.replace_allocations(C1, {rp.uuid: {"VCPU": 95}}, "p", "u", None)  # 5 left
    services = [PlacementService(db) for _ in range(4)]  # as if several servers
    won: list[str] = []
    lost: list[Exception] = []
    barrier = threading.Barrier(16)

    def claim(index: int) -> None:
        consumer = str(uuid.uuid4())
        barrier.wait()
        try:
            services[index % 4].replace_allocations(
                consumer, {rp.uuid: {"VCPU": 1}}, "p", "u", None
            )
            won.append(consumer)
        except errors.Conflict as error:
            lost.append(error)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 5 and len(lost) == 11
    assert setup.provider_usages(rp.uuid)[1] == {"VCPU": 100}
    for service in services:
        node = service.snapshot().node(rp.uuid)
        assert node is not None and node.slots["VCPU"].used == 100


def test_delete_burst_from_several_servers_never_conflicts(db: Database) -> None:
    """200 deletes at once through four services (as four servers) on one database:
    none fails, every provider ends empty."""
    setup = PlacementService(db)
    providers = [add_provider(setup, f"cn{i}", {"VCPU": 100}) for i in range(8)]
    consumers = [str(uuid.uuid4()) for _ in range(200)]
    for i, consumer in enumerate(consumers):
        rp = providers[i % len(providers)]
        setup.replace_allocations(consumer, {rp.uuid: {"VCPU": 1}}, "p", "u", None)
    services = [PlacementService(db) for _ in range(4)]
    failures: list[Exception] = []
    barrier = threading.Barrier(16)

    def delete(index: int) -> None:
        barrier.wait()
        for consumer in consumers[index::16]:
            try:
                services[index % 4].delete_allocations(consumer)
            except Exception as error:  # collected: the test asserts there are none
                failures.append(error)

    threads = [threading.Thread(target=delete, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    for rp in providers:
        assert setup.provider_usages(rp.uuid)[1] == {"VCPU": 0}


def test_a_write_that_loses_a_provider_race_runs_again(
    svc: PlacementService, monkeypatch: pytest.MonkeyPatch
) -> None:
    rp = add_provider(svc, "cn", {"VCPU": 8})
    svc.replace_allocations(C1, {rp.uuid: {"VCPU": 2}}, "p", "u", None)
    finish = allocations_db._Batch.finish
    calls: list[int] = []

    def lose_every_first_try(batch: allocations_db._Batch) -> None:
        calls.append(1)
        if len(calls) % 2 == 1:
            raise exc.ProviderRaced("provider changed (test)")
        finish(batch)

    monkeypatch.setattr(allocations_db._Batch, "finish", lose_every_first_try)
    svc.replace_allocations(C2, {rp.uuid: {"VCPU": 1}}, "p", "u", None)
    svc.delete_allocations(C1)
    assert len(calls) == 4  # each write lost once, then ran again
    assert svc.provider_usages(rp.uuid)[1] == {"VCPU": 1}


def test_a_write_that_always_loses_surfaces_as_concurrent_update(
    svc: PlacementService, monkeypatch: pytest.MonkeyPatch
) -> None:
    rp = add_provider(svc, "cn", {"VCPU": 8})
    svc.replace_allocations(C1, {rp.uuid: {"VCPU": 2}}, "p", "u", None)

    def always_lose(batch: allocations_db._Batch) -> None:
        raise exc.ProviderRaced("provider changed (test)")

    monkeypatch.setattr(allocations_db._Batch, "finish", always_lose)
    with pytest.raises(errors.ConcurrentUpdate):
        svc.delete_allocations(C1)
    monkeypatch.undo()
    assert svc.provider_usages(rp.uuid)[1] == {"VCPU": 2}  # rolled back each time
