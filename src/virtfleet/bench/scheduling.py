"""Scheduling decision + claim without hypervisor work: latency and throughput.

Boot requests go straight to :meth:`Scheduler.schedule_and_claim` (placement
candidates, filters, weighers, the claim written to the database), from 1, 8 or 32
threads at once; each boot is a new instance of the benchmark flavor. Each level also
records the process's CPU time per boot (what bounds throughput under Python's GIL,
and less disturbed than wall time by other load on the machine) and the load average.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from virtfleet.bench.stats import median, ms, percentile
from virtfleet.conf import make_conf
from virtfleet.db.engine import Database
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.placement.service import PlacementService
from virtfleet.scheduler.manager import Scheduler
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

CONCURRENCY = (1, 8, 32)
FLAVOR = FlavorSpec(vcpus=2, memory_mb=4096, root_gb=20)
IMAGE = {"hw_architecture": "x86_64"}
#: What the Compute API resolves for IMAGE: a native x86_64 guest.
GUEST = GuestRequest(arch="x86_64", native_arch="x86_64")


@dataclass(frozen=True)
class SchedulingResult:
    concurrency: int
    boots: int
    failures: int
    seconds: float
    latencies_ms: Sequence[float]
    errors: Mapping[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # CPU time of the whole process during the level
    load_average: tuple[float, ...] = ()  # 1, 5, 15 min, when the level ended

    @property
    def per_second(self) -> float:
        return round(self.boots / self.seconds, 1) if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "boots": self.boots,
            "failures": self.failures,
            "seconds": round(self.seconds, 3),
            "boots_per_second": self.per_second,
            "p50_ms": round(median(self.latencies_ms), 2) if self.latencies_ms else None,
            "p99_ms": round(percentile(self.latencies_ms, 99), 2) if self.latencies_ms else None,
            "errors": dict(self.errors),
            "cpu_ms_per_boot": round(self.cpu_seconds * 1000 / self.boots, 2)
            if self.boots
            else None,
            "load_average": [round(x, 2) for x in self.load_average],
        }


def make_scheduler(db: Database, placement: PlacementService) -> Scheduler:
    return Scheduler(make_conf(), db, placement)


def boot_spec() -> RequestSpec:
    return RequestSpec(str(uuid.uuid4()), "bench-boots", "bench-user", FLAVOR, IMAGE, guest=GUEST)


def run(scheduler: Scheduler, boots: int, concurrency: int) -> SchedulingResult:
    """``boots`` boots spread over ``concurrency`` threads; all start together. A boot
    that raises counts as a failure, by exception type (NoValidHost, a database
    lock timeout, ...)."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)
    shares = [boots // concurrency + (i < boots % concurrency) for i in range(concurrency)]

    def worker(count: int) -> None:
        start.wait()
        for _ in range(count):
            began = time.perf_counter()
            try:
                scheduler.schedule_and_claim(boot_spec())
            except Exception as exc:  # every failure is a result here
                with lock:
                    failures[type(exc).__name__] += 1
                continue
            took = time.perf_counter() - began
            with lock:
                latencies.append(ms(took))

    threads = [threading.Thread(target=worker, args=(n,)) for n in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began, cpu_began = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    cpu = time.process_time() - cpu_began
    return SchedulingResult(
        concurrency,
        len(latencies),
        sum(failures.values()),
        seconds,
        latencies,
        dict(failures),
        cpu,
        os.getloadavg(),
    )


def run_levels(
    scheduler: Scheduler, boots: int, levels: Sequence[int] = CONCURRENCY
) -> list[SchedulingResult]:
    """One warm-up boot, then ``boots`` boots at each concurrency level."""
    scheduler.schedule_and_claim(boot_spec())
    return [run(scheduler, boots, level) for level in levels]
