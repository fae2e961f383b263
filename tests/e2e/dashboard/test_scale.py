"""The dashboard's answers on a large fleet: the benchmark fleet (plain, vGPU and slice
hosts, about half of them in use) loaded into a database with servers, a migration in
progress and failed actions beside it, every page and its JSON asked for in-process,
each timed. ``VIRTFLEET_DASHBOARD_HOSTS`` sets the size (default 2,000, so CI stays
short; docs/dashboard.md reports 10,000)."""

from __future__ import annotations

import os
import pathlib
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import insert

from support.dashboard_app import Dashboard
from support.dashboard_cloud import preload
from virtfleet.bench import fleet as bench_fleet
from virtfleet.db import instance_actions, migration_records
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import Server

pytestmark = pytest.mark.slow

HOSTS = int(os.environ.get("VIRTFLEET_DASHBOARD_HOSTS", "2000"))
SERVERS = HOSTS  # one server row per host, beside the fleet's own allocations
#: Server-side time of one answer (in-process, no HTTP), as the browser test's page budget.
BUDGET_SECONDS = 2.0


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    data = pathlib.Path(tmp_path_factory.mktemp("scale"))
    started = time.monotonic()
    db = preload(data, HOSTS, disable=False)
    names = [h.name for h in bench_fleet.generate(HOSTS).hosts]
    rows = [
        {
            "uuid": str(uuid.UUID(int=i + 1)),
            "name": f"vm-{i}",
            "project_id": f"project-{i % 50}",
            "user_id": "u",
            "flavor": {"name": "m1.small"},
            "image_ref": "i",
            "image": {},
            "guest_request": {"arch": "x86_64"},
            "vm_state": "active" if i % 10 else "stopped",
            "task_state": None,
            "host": names[i % HOSTS],
        }
        for i in range(SERVERS)
    ]
    with db.write() as conn:
        conn.execute(insert(Server.__table__), rows)
    moving = migration_records.create(
        db,
        instance_uuid=rows[0]["uuid"],
        source_compute=names[0],
        source_node=names[0],
        project_id="p",
        user_id="u",
    )
    migration_records.update(db, moving.id, status="running", memory_total=100, memory_processed=40)
    for i in range(200):
        action = instance_actions.start(db, rows[i]["uuid"], "live-migration", f"req-{i}")
        event = instance_actions.event_start(db, action.id, "compute_live_migration", names[i])
        instance_actions.event_finish(db, event, instance_actions.ERROR, "no valid host")
    print(f"\n{HOSTS} hosts and {SERVERS} servers loaded in {time.monotonic() - started:.1f} s")
    yield Dashboard(db)
    db.dispose()


def slice_host(db: Database) -> str:
    return next(
        h.name for h in bench_fleet.generate(HOSTS).hosts if h.kind == "slice" and h.consumers
    )


def test_every_page_and_its_json_answers_within_budget(dash: Dashboard) -> None:
    sliced = slice_host(dash.db)
    paths = [
        "/dashboard/",
        "/dashboard/api/fleet",
        "/dashboard/hosts",
        "/dashboard/api/hosts",
        f"/dashboard/hosts?state=up&arch=x86_64&offset={HOSTS // 2}",
        "/dashboard/api/hosts?name=host0&limit=500",
        f"/dashboard/hosts/{sliced}",
        f"/dashboard/api/hosts/{sliced}",
        "/dashboard/gpus",
        "/dashboard/api/gpus?offset=100",
        "/dashboard/servers",
        f"/dashboard/api/servers?offset={SERVERS - 50}",
        "/dashboard/servers?state=stopped",
        "/dashboard/migrations",
        "/dashboard/api/migrations",
        "/dashboard/actions",
        "/dashboard/api/actions",
    ]
    dash.get("/dashboard/")  # templates compiled, connections open
    timings = {}
    for path in paths:
        started = time.monotonic()
        answer = dash.get(path)
        timings[path] = time.monotonic() - started
        assert answer.status_int == 200, (path, answer.text[:300])
    width = max(len(p) for p in paths)
    print(f"\n{'answer':<{width}}  ms ({HOSTS} hosts, {SERVERS} servers, in-process)")
    for path, seconds in timings.items():
        print(f"{path:<{width}}  {seconds * 1000:7.1f}")
    slow = {p: round(s, 3) for p, s in timings.items() if s > BUDGET_SECONDS}
    assert not slow, f"over {BUDGET_SECONDS} s: {slow}"
    fleet = dash.get("/dashboard/api/fleet").json
    assert fleet["hosts"]["total"] == HOSTS and fleet["migrations_in_progress"] == 1
    page = dash.get("/dashboard/api/hosts?limit=500").json
    assert len(page["hosts"]) == min(500, HOSTS) and page["page"]["total"] == HOSTS
