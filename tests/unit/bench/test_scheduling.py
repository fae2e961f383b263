"""The scheduling timer counts every boot: successes timed, failures by type."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any, cast

from support.guest import guest_request
from virtfleet import errors
from virtfleet.bench import scheduling
from virtfleet.conf import make_conf
from virtfleet.scheduler.manager import Scheduler
from virtfleet.scheduler.prefilters import request_constraints


class _FlakyScheduler:
    """Every third boot finds no host, every fifth hits a database error."""

    def __init__(self) -> None:
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    def schedule_and_claim(self, spec: Any) -> None:
        with self._lock:
            n = next(self._count)
        if n % 3 == 0:
            raise errors.NoValidHost("full", {})
        if n % 5 == 0:
            raise RuntimeError("database is locked")


def test_failures_are_counted_by_type_and_not_timed() -> None:
    result = scheduling.run(cast(Scheduler, _FlakyScheduler()), boots=30, concurrency=4)
    assert result.errors == {"NoValidHost": 10, "RuntimeError": 4}
    assert (result.boots, result.failures) == (16, 14)
    assert len(result.latencies_ms) == 16
    assert result.as_dict()["errors"] == {"NoValidHost": 10, "RuntimeError": 4}


def test_boots_are_shared_over_the_threads() -> None:
    result = scheduling.run(cast(Scheduler, _FlakyScheduler()), boots=7, concurrency=3)
    assert result.boots + result.failures == 7


class _BusyScheduler:
    """Every boot burns at least 2 ms of its own thread's CPU (the process clock would
    count the other boot thread's CPU too, and end a boot early)."""

    def schedule_and_claim(self, spec: Any) -> None:
        began = time.thread_time()
        while time.thread_time() - began < 0.002:
            pass


def test_cpu_time_per_boot_and_load_average_are_recorded() -> None:
    result = scheduling.run(cast(Scheduler, _BusyScheduler()), boots=20, concurrency=2)
    shown = result.as_dict()
    assert shown["cpu_ms_per_boot"] >= 2.0
    assert len(shown["load_average"]) == 3
    failed = scheduling.run(cast(Scheduler, _FlakyScheduler()), boots=3, concurrency=1)
    assert failed.as_dict()["cpu_ms_per_boot"] is not None  # 2 of 3 succeeded


def test_the_benchmark_boot_asks_for_an_x86_64_host_as_the_compute_api_would() -> None:

    spec = scheduling.boot_spec()
    assert spec.guest == guest_request(scheduling.IMAGE)
    assert "HW_ARCH_X86_64" in request_constraints(spec, make_conf()).root_required
