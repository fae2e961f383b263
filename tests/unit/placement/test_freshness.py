"""The snapshot follows every write: this process's, and other processes' through the
change log; only changed trees are reloaded."""

from __future__ import annotations

from tests.unit.placement.conftest import add_provider

from virtfleet.db.engine import Database
from virtfleet.placement.query import parse_candidate_query
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory

CONSUMER = "c1c1c1c1-0000-4000-8000-000000000001"


def free_vcpu_hosts(svc: PlacementService, amount: int) -> set[str]:
    query = parse_candidate_query({"resources": [f"VCPU:{amount}"]}, (1, 39))
    return {
        rp for r in svc.allocation_candidates(query).allocation_requests for rp in r.allocations
    }


def test_other_process_writes_are_seen(db: Database) -> None:
    writer, reader = PlacementService(db), PlacementService(db)
    a = add_provider(writer, "a", {"VCPU": 4})
    assert free_vcpu_hosts(reader, 4) == {a.uuid}
    writer.replace_allocations(CONSUMER, {a.uuid: {"VCPU": 3}}, "p", "u", None)
    assert free_vcpu_hosts(reader, 4) == set()
    assert free_vcpu_hosts(reader, 1) == {a.uuid}
    generation = writer.get_provider(a.uuid).generation
    writer.set_inventories(a.uuid, generation, {"VCPU": Inventory(8)})
    assert free_vcpu_hosts(reader, 5) == {a.uuid}
    writer.delete_allocations(CONSUMER)
    writer.delete_inventories(a.uuid, writer.get_provider(a.uuid).generation)
    writer.delete_provider(a.uuid)
    assert free_vcpu_hosts(reader, 1) == set()
    assert reader.snapshot().node(a.uuid) is None


def test_only_changed_trees_are_replaced(svc: PlacementService) -> None:
    a = add_provider(svc, "a", {"VCPU": 4})
    b = add_provider(svc, "b", {"VCPU": 4})
    before = svc.snapshot()
    svc.replace_allocations(CONSUMER, {a.uuid: {"VCPU": 1}}, "p", "u", None)
    after = svc.snapshot()
    assert after is not before
    assert after.tree_of(b.uuid) is before.tree_of(b.uuid)
    assert after.tree_of(a.uuid) is not before.tree_of(a.uuid)
    node = after.node(a.uuid)
    assert node is not None and node.slots["VCPU"].used == 1
    old = before.node(a.uuid)
    assert old is not None and old.slots["VCPU"].used == 0  # snapshots never change
    assert svc.snapshot() is after  # nothing new: same snapshot


def test_reparenting_moves_providers_between_trees(db: Database) -> None:
    writer, reader = PlacementService(db), PlacementService(db)
    a = add_provider(writer, "a", {"VCPU": 1})
    b = add_provider(writer, "b", {"MEMORY_MB": 512})
    reader.snapshot()
    writer.update_provider(b.uuid, "b", a.uuid)
    query = parse_candidate_query({"resources": ["VCPU:1,MEMORY_MB:256"]}, (1, 39))
    result = reader.allocation_candidates(query)
    assert [set(r.allocations) for r in result.allocation_requests] == [{a.uuid, b.uuid}]
    snap = reader.snapshot()
    assert snap.tree_of(b.uuid) is snap.tree_of(a.uuid)
    assert set(snap.trees_by_rc["MEMORY_MB"]) == {snap.tree_of_uuid[a.uuid]}


def test_a_change_committed_late_is_not_missed(db: Database) -> None:
    """PostgreSQL may commit change N after change N+1; the reader must still see N."""
    from sqlalchemy import func, insert, select, update

    from virtfleet.placement.dbutil import CHANGES, INVENTORIES, PROVIDERS

    svc = PlacementService(db)
    a = add_provider(svc, "a", {"VCPU": 4})
    b = add_provider(svc, "b", {"VCPU": 4})
    svc.snapshot()
    with db.write() as conn:
        last = conn.execute(select(func.max(CHANGES.c.id))).scalar_one()
        ids = dict(conn.execute(select(PROVIDERS.c.uuid, PROVIDERS.c.id)).all())
        conn.execute(
            update(INVENTORIES)
            .where(INVENTORIES.c.provider_id == ids[b.uuid])
            .values(total=8, max_unit=8)
        )
        conn.execute(insert(CHANGES).values(id=last + 2, root_id=ids[b.uuid]))
    assert free_vcpu_hosts(svc, 8) == {b.uuid}
    with db.write() as conn:
        conn.execute(
            update(INVENTORIES)
            .where(INVENTORIES.c.provider_id == ids[a.uuid])
            .values(total=8, max_unit=8)
        )
        conn.execute(insert(CHANGES).values(id=last + 1, root_id=ids[a.uuid]))
    assert free_vcpu_hosts(svc, 8) == {a.uuid, b.uuid}


def test_a_reader_behind_a_pruned_change_log_reloads_everything(db: Database) -> None:
    writer, reader = PlacementService(db), PlacementService(db)
    a = add_provider(writer, "a", {"VCPU": 4})
    b = add_provider(writer, "b", {"VCPU": 4})
    reader.snapshot()
    writer.replace_allocations(CONSUMER, {a.uuid: {"VCPU": 4}}, "p", "u", None)
    writer.set_provider_traits(b.uuid, writer.get_provider(b.uuid).generation, ["HW_CPU_X86_AVX2"])
    assert writer.prune_changes(keep=1) > 0
    assert free_vcpu_hosts(reader, 1) == {b.uuid}  # a's change row is gone, still seen
    node = reader.snapshot().node(b.uuid)
    assert node is not None and node.traits == {"HW_CPU_X86_AVX2"}
