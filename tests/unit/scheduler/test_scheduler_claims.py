"""Concurrent claims: group commit keeps each claim's own outcome, and concurrent
boots (threads of one process, or several processes on one database) never
overcommit a host."""

from __future__ import annotations

import multiprocessing
import pathlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.placement.claims import ClaimWriter
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import ConsumerRequest
from virtfleet.scheduler.manager import Scheduler

from .scheduler_fleet import BootFactory, Fleet, SchedulerFactory, create_schema


def run_together(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads started together; results or exceptions."""
    results: list[object] = [None] * count
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # the outcome under test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def outcome(result: object) -> str:
    return type(result).__name__ if isinstance(result, Exception) else "claimed"


def test_32_concurrent_boots_fill_a_small_fleet_exactly_and_never_overcommit(
    fleet: Fleet,
    placement: PlacementService,
    make_scheduler: SchedulerFactory,
    boot: BootFactory,
) -> None:
    hosts = [fleet.add(f"h{i}", vcpus=8, memory_mb=65536) for i in range(3)]
    scheduler: Scheduler = make_scheduler(scheduler__max_placement_results=2)
    results = run_together(
        32, lambda i: scheduler.schedule_and_claim(boot(f"vm-{i}", vcpus=2, memory_mb=1024))
    )
    # 3 hosts x 8 VCPU take 12 guests of 2 VCPU; the other 20 find no host
    assert Counter(map(outcome, results)) == {"claimed": 12, "NoValidHost": 20}
    for host in hosts:
        _generation, usage = placement.provider_usages(host)
        assert usage["VCPU"] == 8
    claimed = Counter(getattr(r, "host", None) for r in results if outcome(r) == "claimed")
    assert claimed == {"h0": 4, "h1": 4, "h2": 4}


def test_a_claim_that_fails_in_a_batch_is_rolled_back_alone(
    db: Database, fleet: Fleet, placement: PlacementService
) -> None:
    host = fleet.add("h", vcpus=4)
    writer = ClaimWriter(db)
    outcomes: dict[int, str] = {}

    def claim(i: int) -> None:
        # claim 3 names a provider that does not exist; the others take 1 VCPU each
        target = str(uuid.UUID(int=999)) if i == 3 else host
        request = ConsumerRequest({target: {"VCPU": 1}}, "p", "u", None)
        try:
            writer.replace({str(uuid.UUID(int=i + 1)): request})
            outcomes[i] = "claimed"
        except Exception as exc:  # the outcome under test
            outcomes[i] = type(exc).__name__

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(6)]
    with db.write():  # hold the writers back until every claim is queued
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while writer.pending < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.pending == 5  # one leader waiting for the database, five queued
    for thread in threads:
        thread.join()
    # the leader's own claim, then the five queued ones in one transaction
    assert writer.batches == 2
    assert outcomes[3] == "InvalidInput"
    # five 1-VCPU claims for 4 VCPU: four are written, one is over capacity
    assert Counter(o for i, o in outcomes.items() if i != 3) == {"claimed": 4, "Conflict": 1}
    held = {
        i: bool(placement.get_consumer_allocations(str(uuid.UUID(int=i + 1))).allocations)
        for i in range(6)
    }
    assert held == {i: outcomes[i] == "claimed" for i in range(6)}
    assert placement.provider_usages(host)[1]["VCPU"] == 4


def test_errors_reach_the_caller_whose_claim_failed(
    db: Database, fleet: Fleet, placement: PlacementService
) -> None:
    host = fleet.add("h", vcpus=4)
    fleet.use(host, "other", VCPU=2)
    writer = ClaimWriter(db)
    too_much = ConsumerRequest({host: {"VCPU": 3}}, "p", "u", None)
    with pytest.raises(errors.Conflict, match="would exceed the capacity"):
        writer.replace({str(uuid.uuid4()): too_much})
    unknown = ConsumerRequest({str(uuid.uuid4()): {"VCPU": 1}}, "p", "u", None)
    with pytest.raises(errors.InvalidInput, match="does not exist"):
        writer.replace({str(uuid.uuid4()): unknown})
    assert writer.pending == 0
    assert placement.provider_usages(host)[1]["VCPU"] == 2


def _race_in_process(
    path: str, host: str, threads: int, queue: multiprocessing.Queue[list[str]]
) -> None:
    """One server process: ``threads`` threads each claim 1 VCPU of ``host``."""
    service = PlacementService(Database(f"sqlite:///{path}"))

    def claim(_i: int) -> None:
        request = ConsumerRequest({host: {"VCPU": 1}}, "p", "u", None)
        service.replace_many({str(uuid.uuid4()): request})

    queue.put([outcome(r) for r in run_together(threads, claim)])


def test_two_processes_race_for_the_last_units_without_overcommit(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "shared.sqlite"
    db = Database(f"sqlite:///{path}")
    create_schema(db)
    placement = PlacementService(db)
    host = Fleet(db, placement).add("h", vcpus=12)
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[str]] = context.Queue()
    processes = [
        context.Process(target=_race_in_process, args=(str(path), host, 8, queue)) for _ in range(2)
    ]
    for process in processes:
        process.start()
    outcomes = Counter(o for _ in processes for o in queue.get(timeout=120))
    for process in processes:
        process.join(timeout=60)
    # 12 VCPU, 16 claims of 1 from two processes: exactly 12 win
    assert outcomes == {"claimed": 12, "Conflict": 4}
    assert placement.provider_usages(host)[1]["VCPU"] == 12
    db.dispose()
