"""What the dashboard reads, on SQLite and PostgreSQL: the fleet overview and host
pages checked against the benchmark fleet they were loaded from, states as the
control plane counts them, slices and GPUs of a host, migrations' progress and the
reasons of failed actions."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
from sqlalchemy import insert, select, update

from virtfleet.api.dashboard.queries import activity, fleet, hosts
from virtfleet.api.dashboard.queries.fleet import host_state
from virtfleet.api.dashboard.queries.paging import Page
from virtfleet.api.dashboard.queries.providers import gpu_page
from virtfleet.bench import fleet as bench_fleet
from virtfleet.bench.load import COMPUTE_NODES, load_fleet
from virtfleet.db import instance_actions, migration_records
from virtfleet.db.engine import Database
from virtfleet.placement.dbutil import PROVIDER_TRAITS, PROVIDERS

HOSTS = 60
SPEC = bench_fleet.generate(HOSTS, seed=3)


@pytest.fixture
def db(db_on_each_backend: Database) -> Database:
    load_fleet(db_on_each_backend, SPEC)
    return db_on_each_backend


def test_the_overview_counts_what_was_loaded(db: Database) -> None:
    seen = fleet.overview(db, down_after=0)
    assert seen["hosts"]["total"] == HOSTS
    assert seen["hosts"]["by_state"] == {"up": HOSTS, "disabled": 0, "down": 0}
    arches = Counter(h.arch for h in SPEC.hosts)
    assert {r["arch"]: r["total"] for r in seen["hosts"]["by_arch"]} == arches
    emulated = Counter(a for h in SPEC.hosts for a in h.emulates)
    assert {e["arch"]: e["hosts"] for e in seen["emulated_arches"]} == emulated
    bits = {b["bits"]: b["hosts"] for b in seen["maxphysaddr_bits"]}
    assert bits == {"46": arches["x86_64"], "unknown": HOSTS - arches["x86_64"]}
    capacity: Counter[str] = Counter()
    for p in SPEC.providers():
        for rc, inv in p.inventories.items():
            capacity[rc] += int((inv.total - inv.reserved) * inv.allocation_ratio)
    used: Counter[str] = Counter()
    for c in SPEC.consumers():
        for resources in c.allocations.values():
            used.update(resources)
    assert {r["resource_class"]: r["capacity"] for r in seen["resources"]} == capacity
    assert {r["resource_class"]: r["used"] for r in seen["resources"]} == {
        rc: used.get(rc, 0) for rc in capacity
    }


def test_states_filters_and_pages_agree(db: Database) -> None:
    names = sorted(h.name for h in SPEC.hosts)
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    with db.write() as conn:
        nodes = COMPUTE_NODES.c
        conn.execute(update(COMPUTE_NODES).where(nodes.host == names[0]).values(forced_down=True))
        conn.execute(update(COMPUTE_NODES).where(nodes.host == names[1]).values(status="disabled"))
        conn.execute(update(COMPUTE_NODES).where(nodes.host == names[2]).values(updated_at=old))
        conn.execute(update(COMPUTE_NODES).where(nodes.host == names[3]).values(state="down"))
    assert fleet.overview(db, down_after=60)["hosts"]["by_state"] == {
        "up": HOSTS - 4,
        "disabled": 1,
        "down": 3,
    }
    assert fleet.overview(db, down_after=0)["hosts"]["by_state"]["down"] == 2  # age ignored
    everything = hosts.host_page(db, Page(0, 500), 60)["hosts"]
    assert [h["host"] for h in everything] == names
    for state in fleet.STATES:
        page = hosts.host_page(db, Page(0, 500), 60, state=state)
        assert [h["host"] for h in page["hosts"]] == [
            h["host"] for h in everything if h["state"] == state
        ]
    arm = hosts.host_page(db, Page(0, 500), 60, arch="aarch64")["hosts"]
    assert len(arm) == sum(1 for h in SPEC.hosts if h.arch == "aarch64")
    second = hosts.host_page(db, Page(7, 7), 60)
    assert [h["host"] for h in second["hosts"]] == names[7:14]
    assert second["page"] == {"offset": 7, "limit": 7, "total": HOSTS, "next": 14, "previous": 0}
    assert hosts.host_page(db, Page(0, 10), 60, name="0%")["page"]["total"] == 0  # literal %
    assert hosts.host_page(db, Page(0, 10), 60, name=names[5])["hosts"][0]["host"] == names[5]


def test_host_state_of_a_row_matches_the_sql() -> None:
    now = datetime.datetime.now(datetime.UTC)

    class Row:
        state, status, forced_down, updated_at = "up", "disabled", False, now

    assert host_state(Row(), 60, now) == "disabled"
    Row.forced_down = True
    assert host_state(Row(), 60, now) == "down"


def test_a_slice_host_and_a_gpu_host_in_full(db: Database) -> None:
    sliced = next(h for h in SPEC.hosts if h.kind == "slice" and h.consumers)
    seen = hosts.host_detail(db, sliced.name, down_after=0)
    states = Counter(s["state"] for s in seen["slices"])
    assert states["used"] == len(sliced.consumers)
    assert set(states) <= {"free", "used", "taken", "blocked"}
    assert all(not s["name"].startswith(f"{sliced.name}_") for s in seen["slices"])
    gpu_host = next(h for h in SPEC.hosts if h.kind == "vgpu" and h.consumers)
    with db.write() as conn:  # what an agent reports for an mdev type (the bench has none)
        first = (
            conn.execute(select(PROVIDERS.c.id).where(PROVIDERS.c.name == f"{gpu_host.name}-gpu0"))
            .scalars()
            .first()
        )
        conn.execute(
            insert(PROVIDER_TRAITS), [{"provider_id": first, "trait": "CUSTOM_MDEV_NVIDIA_222"}]
        )
    gpus = hosts.host_detail(db, gpu_host.name, down_after=0)["gpus"]
    held = sum(c.allocations[p].get("VGPU", 0) for c in gpu_host.consumers for p in c.allocations)
    assert sum(g["used"] for g in gpus) == held
    assert next(g["mdev_types"] for g in gpus) == ["nvidia_222"]
    assert all(g["total"] > 0 for g in gpus), gpus
    with db.read() as conn:
        listed = gpu_page(conn, Page(0, 500))
    assert listed["page"]["total"] == sum(1 for p in SPEC.providers() if "VGPU" in p.inventories)
    assert {g["host"] for g in listed["gpus"]} >= {gpu_host.name}
    with pytest.raises(Exception, match="Host 'nowhere' could not be found"):
        hosts.host_detail(db, "nowhere", down_after=0)


def test_migrations_in_progress_with_their_progress(db: Database) -> None:
    moving = migration_records.create(
        db, instance_uuid="i-1", source_compute="a", source_node="a", project_id="p", user_id="u"
    )
    migration_records.update(
        db, moving.id, status="running", memory_total=1000, memory_processed=250
    )
    done = migration_records.create(
        db, instance_uuid="i-2", source_compute="a", source_node="a", project_id="p", user_id="u"
    )
    migration_records.update(db, done.id, status="completed")
    listed = activity.migrations_in_progress(db)["migrations"]
    assert [(m["uuid"], m["status"], m["progress"]) for m in listed] == [
        (moving.uuid, "running", 25.0)
    ]
    assert activity.progress(None, None) == 0.0 and activity.progress(5, 4) == 100.0


def test_recent_actions_carry_the_failure_reason(db: Database) -> None:
    failed = instance_actions.start(db, "i-1", "live-migration", "req-1", "u", "p")
    event = instance_actions.event_start(db, failed.id, "compute_live_migration", "a")
    instance_actions.event_finish(db, event, instance_actions.ERROR, "Destination b refused")
    fine = instance_actions.start(db, "i-2", "create", "req-2", "u", "p")
    ok = instance_actions.event_start(db, fine.id, "compute_build", "a")
    instance_actions.event_finish(db, ok, instance_actions.SUCCESS)
    listed = {a["request_id"]: a for a in activity.recent_actions(db, 10)["actions"]}
    assert listed["req-1"]["result"] == "error"
    assert listed["req-1"]["failures"] == [
        {"event": "compute_live_migration", "host": "a", "details": "Destination b refused"}
    ]
    assert listed["req-2"]["result"] == "done" and listed["req-2"]["failures"] == []
