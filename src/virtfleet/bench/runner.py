"""One benchmark run: for each fleet size, load the fleet, time the candidate rows
over HTTP, time scheduling, and (optionally) do the same rows on OpenStack Placement.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import pathlib
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from virtfleet.api.placement import make_app
from virtfleet.bench import compare, load, openstack, scheduling, shapes
from virtfleet.bench.fleet import Fleet, generate
from virtfleet.bench.queries import RowResult, measure_all
from virtfleet.bench.stats import rss_mb
from virtfleet.bench.web import Client, serve
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.placement.service import DEFAULT_MAX_CANDIDATES, PlacementService

#: The Placement API token noauth2 Placement wants (virtfleet ignores it).
HEADERS = {"X-Auth-Token": "admin"}


@dataclass(frozen=True)
class Options:
    sizes: Sequence[int]
    repeat: int = 5
    seed: int = 0
    boots: int = 200
    concurrency: Sequence[int] = scheduling.CONCURRENCY
    timeout: float = 60.0
    shapes: Sequence[shapes.Shape] = shapes.SHAPES
    compare_openstack: bool = False
    openstack_max_hosts: int | None = None
    cache_dir: pathlib.Path = field(default_factory=openstack.default_cache_dir)
    max_candidates: int = DEFAULT_MAX_CANDIDATES
    workdir: pathlib.Path | None = None


@dataclass
class EngineRun:
    """One engine's rows on one fleet."""

    rows: list[RowResult]
    load: dict[str, Any]
    memory_mb: float | None = None
    note: str = ""


@dataclass
class FleetRun:
    hosts: int
    counts: dict[str, int]
    virtfleet: EngineRun
    scheduling: list[scheduling.SchedulingResult]
    openstack: EngineRun | None = None
    verdicts: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        def engine(run: EngineRun | None) -> dict[str, Any] | None:
            if run is None:
                return None
            return {
                "load": run.load,
                "memory_mb": run.memory_mb,
                "note": run.note,
                "rows": [r.as_dict() for r in run.rows],
            }

        return {
            "hosts": self.hosts,
            "counts": self.counts,
            "virtfleet": engine(self.virtfleet),
            "scheduling": [s.as_dict() for s in self.scheduling],
            "openstack_placement": engine(self.openstack),
            "host_checks": self.verdicts,
        }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "python": platform.python_version(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def create_schema(db: Database) -> None:
    for area in ("placement", "hosts"):
        importlib.import_module(f"virtfleet.db.models.{area}")
    Base.metadata.create_all(db.engine)


@contextlib.contextmanager
def _workdir(options: Options) -> Iterator[pathlib.Path]:
    if options.workdir is not None:
        options.workdir.mkdir(parents=True, exist_ok=True)
        yield options.workdir
        return
    with tempfile.TemporaryDirectory(prefix="virtfleet-bench-") as tmp:
        yield pathlib.Path(tmp)


def run(
    options: Options,
    log: TextIO = sys.stderr,
    on_fleet: Callable[[list[FleetRun]], None] = lambda runs: None,
) -> list[FleetRun]:
    """Every fleet size in ``options.sizes``, smallest first; ``on_fleet`` is called
    with the results so far after each fleet."""
    python = None
    if options.compare_openstack:
        python = openstack.ensure_venv(options.cache_dir, log)
    results = []
    with _workdir(options) as workdir:
        for hosts in sorted(options.sizes):
            compare_here = python is not None and (
                options.openstack_max_hosts is None or hosts <= options.openstack_max_hosts
            )
            results.append(
                run_fleet(options, hosts, workdir, python if compare_here else None, log)
            )
            on_fleet(results)
            gc.collect()
    return results


def run_fleet(
    options: Options,
    hosts: int,
    workdir: pathlib.Path,
    python: pathlib.Path | None,
    log: TextIO = sys.stderr,
) -> FleetRun:
    say = _sayer(log, hosts)
    say("generating the fleet")
    started = time.perf_counter()
    fleet = generate(hosts, options.seed)
    generated = time.perf_counter() - started
    db_path = workdir / f"virtfleet-{hosts}.sqlite"
    for stale in workdir.glob(f"virtfleet-{hosts}.sqlite*"):
        stale.unlink()
    db = Database(f"sqlite:///{db_path}")
    try:
        create_schema(db)
        say("loading it into virtfleet")
        started = time.perf_counter()
        load.load_fleet(db, fleet)
        inserted = time.perf_counter() - started
        service = PlacementService(db, options.max_candidates)
        rss_fleet = rss_mb()
        started = time.perf_counter()
        service.refresh()
        snapshot = time.perf_counter() - started
        rss_loaded = rss_mb()
        load_times = {
            "generate_s": round(generated, 3),
            "database_s": round(inserted, 3),
            "snapshot_s": round(snapshot, 3),
            "rss_mb": rss_loaded,
        }
        memory = None if rss_fleet is None or rss_loaded is None else rss_loaded - rss_fleet
        rows = shapes.rows(options.shapes)
        say(f"timing {len(rows)} candidate rows x {options.repeat}")
        with serve(make_app(service)) as url:
            client = Client(url, options.timeout, headers=HEADERS)
            client.get("/")
            measured = measure_all(
                client,
                rows,
                options.repeat,
                lambda row, n: n < min(row.limit or n + 1, service.max_candidates),
            )
            client.close()
        ours = EngineRun(measured, load_times, round(memory, 1) if memory is not None else None)
        say(f"scheduling {options.boots} boots at concurrency {list(options.concurrency)}")
        scheduler = scheduling.make_scheduler(db, service)
        timed = scheduling.run_levels(scheduler, options.boots, options.concurrency)
        result = FleetRun(hosts, dict(fleet.counts), ours, timed)
    finally:
        db.dispose()
        for path in workdir.glob(f"virtfleet-{hosts}.sqlite*"):
            path.unlink()
    if python is not None:
        say("loading it into OpenStack Placement")
        result.openstack = run_openstack(options, fleet, rows, workdir, python, say)
        result.verdicts = host_checks(rows, result.virtfleet.rows, result.openstack.rows)
    return result


def host_checks(
    rows: Sequence[shapes.Row], ours: Sequence[RowResult], theirs: Sequence[RowResult]
) -> dict[str, str]:
    """Row name -> :func:`compare.verdict`; limit rows are checked against the same
    shape's answers without limit."""
    full: dict[str, tuple[RowResult, RowResult]] = {
        row.shape.name: (o, t)
        for row, o, t in zip(rows, ours, theirs, strict=True)
        if row.limit is None
    }
    checks = {}
    for row, o, t in zip(rows, ours, theirs, strict=True):
        if o.answer is None:
            checks[row.name] = "no answer from virtfleet"
            continue
        o_full, t_full = full.get(row.shape.name, (None, None))
        checks[row.name] = compare.verdict(
            o.answer,
            t.answer,
            o_full.answer if o_full else None,
            t_full.answer if t_full else None,
        )
    return checks


def run_openstack(
    options: Options,
    fleet: Fleet,
    rows: Sequence[shapes.Row],
    workdir: pathlib.Path,
    python: pathlib.Path,
    say: Callable[[str], None],
) -> EngineRun:
    db_path = workdir / f"placement-{len(fleet.hosts)}.sqlite"
    for stale in workdir.glob(f"placement-{len(fleet.hosts)}.sqlite*"):
        stale.unlink()
    started = time.perf_counter()
    report = openstack.load(python, db_path, fleet)
    report["total_s"] = round(time.perf_counter() - started, 3)
    report["version"] = openstack.placement_version(python)
    say(f"timing {len(rows)} candidate rows on Placement (limit {options.timeout:g} s each)")
    with openstack.Server(python, db_path) as server:
        client = Client(server.base_url, options.timeout, headers=HEADERS)
        client.get("/")

        def restart() -> None:
            say("a query timed out: restarting Placement")
            client.retarget(server.restart())

        measured = measure_all(
            client, rows, options.repeat, lambda row, n: row.limit is None or n < row.limit, restart
        )
        memory = server.rss_mb()
        client.close()
    for path in workdir.glob(f"placement-{len(fleet.hosts)}.sqlite*"):
        path.unlink()
    return EngineRun(measured, report, memory, f"Placement {report['version']}, SQLite, noauth2")


def _sayer(log: TextIO, hosts: int) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {hosts} hosts: {message}", file=log, flush=True)

    return say
