"""The scheduler against a real PlacementService: selection order, filters in the
pipeline, claims, lost races and unclaim."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from virtfleet import errors
from virtfleet.db import hosts as host_db
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import CandidateQuery, CandidatesResult
from virtfleet.scheduler.manager import CLAIM_ROUNDS, Scheduler

from .scheduler_fleet import BootFactory, Fleet, SchedulerFactory, uid


def names(selections: list[Any]) -> list[str]:
    return [s.host for s in selections]


def test_selection_names_host_node_and_allocation(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    uuid = fleet.add("h1")
    [selection] = scheduler.select_destinations(boot())
    assert selection.host == "h1"
    assert selection.compute_node_uuid == uuid
    assert selection.allocation_request == {uuid: {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 10}}


def test_spread_puts_most_free_ram_first(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    fleet.add("small", memory_mb=8192)
    fleet.add("big", memory_mb=131072)
    fleet.add("mid", memory_mb=32768)
    selections = scheduler.select_destinations(boot())
    assert names(selections) == ["big", "mid", "small"]
    assert selections[0].weight > selections[1].weight > selections[2].weight


def test_spread_counts_what_is_already_used(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    busy = fleet.add("busy", memory_mb=65536)
    fleet.add("idle", memory_mb=32768)
    fleet.use(busy, "other-vm", MEMORY_MB=60000)
    assert names(scheduler.select_destinations(boot())) == ["idle", "busy"]


def test_pack_with_negative_ram_multiplier(
    fleet: Fleet, make_scheduler: SchedulerFactory, boot: BootFactory
) -> None:
    fleet.add("small", memory_mb=8192)
    fleet.add("big", memory_mb=131072)
    scheduler = make_scheduler(scheduler__weights={"ram": "-1", "vcpu": "0"})
    assert names(scheduler.select_destinations(boot())) == ["small", "big"]


def test_native_host_beats_emulating_host(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    fleet.add("x86-huge", "x86_64", vcpus=256, memory_mb=1048576)
    fleet.add("arm-small", "aarch64", vcpus=4, memory_mb=8192)
    spec = boot(image={"hw_emulation_architecture": "aarch64"})
    assert names(scheduler.select_destinations(spec)) == ["arm-small", "x86-huge"]


def test_native_host_wins_even_when_the_window_holds_only_emulating_hosts(
    fleet: Fleet, make_scheduler: SchedulerFactory, boot: BootFactory
) -> None:
    for i in range(30):
        fleet.add(f"x86-{i:02}", "x86_64", vcpus=64, memory_mb=262144)
    fleet.add("arm-native", "aarch64", vcpus=6, memory_mb=8192)
    scheduler = make_scheduler(scheduler__max_placement_results=2)
    image = {"hw_emulation_architecture": "aarch64"}
    landed = [
        scheduler.schedule_and_claim(boot(f"arm-{i}", vcpus=2, image=image)).host for i in range(4)
    ]
    # Three fit on the native host (6 VCPU); only then do emulating hosts take over.
    assert landed[:3] == ["arm-native"] * 3
    assert landed[3].startswith("x86-")


def test_native_first_can_be_turned_off_with_the_weigher(
    fleet: Fleet, make_scheduler: SchedulerFactory, boot: BootFactory
) -> None:
    for i in range(30):
        fleet.add(f"x86-{i:02}", "x86_64", vcpus=64, memory_mb=262144)
    fleet.add("arm-native", "aarch64", vcpus=64, memory_mb=262144)
    scheduler = make_scheduler(
        scheduler__max_placement_results=2, scheduler__weights={"native_arch": "0"}
    )
    image = {"hw_emulation_architecture": "aarch64"}
    landed = {
        scheduler.schedule_and_claim(boot(f"arm-{i}", vcpus=1, image=image)).host for i in range(10)
    }
    assert landed != {"arm-native"}  # spread over the random windows instead


def test_required_arch_trait_narrows_in_placement(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    fleet.add("x86-no-s390", emulates=["aarch64"])
    fleet.add("x86-s390", emulates=["s390x"])
    spec = boot(image={"hw_emulation_architecture": "s390x"})
    assert names(scheduler.select_destinations(spec)) == ["x86-s390"]


def test_down_disabled_and_ignored_hosts_are_filtered(
    fleet: Fleet, db: Database, scheduler: Scheduler, boot: BootFactory
) -> None:
    for name in ("up", "down", "disabled", "source"):
        fleet.add(name)
    host_db.mark_down(db, host="down")
    host_db.set_status(db, "disabled", "disabled", "maintenance")
    attempt = scheduler.attempt(boot(ignore_hosts=frozenset({"source"})))
    assert names(attempt.selections()) == ["up"]
    rejected = {(r.host, r.filter, r.reason) for r in attempt.rejections}
    assert rejected == {
        ("down", "host_state", "are down"),
        ("disabled", "host_state", "are disabled"),
        ("source", "ignore_hosts", "are excluded by the request"),
    }


def test_requested_host_only(fleet: Fleet, scheduler: Scheduler, boot: BootFactory) -> None:
    fleet.add("a", memory_mb=131072)
    fleet.add("b")
    assert names(scheduler.select_destinations(boot(requested_host="b"))) == ["b"]


def test_max_results_and_limit(
    fleet: Fleet, make_scheduler: SchedulerFactory, boot: BootFactory
) -> None:
    for i in range(5):
        fleet.add(f"h{i}")
    assert len(make_scheduler().select_destinations(boot(), max_results=2)) == 2
    limited = make_scheduler(scheduler__max_placement_results=3)
    assert len(limited.select_destinations(boot())) == 3


def test_bad_image_property_is_invalid_input(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    fleet.add("h1")
    with pytest.raises(errors.InvalidInput, match="hw_video_model"):
        scheduler.select_destinations(boot(image={"hw_video_model": "ramfb"}))


def test_nested_provider_candidates_map_to_the_host(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    root = fleet.add("gpu-host")
    slice_a = "5b7c1f4e-0000-4000-8000-00000000000a"
    slice_b = "5b7c1f4e-0000-4000-8000-00000000000b"
    fleet.provider(slice_a, "gpu-host_slice_a", {"CUSTOM_SLICE_1GPU": 1}, parent_uuid=root)
    fleet.provider(slice_b, "gpu-host_slice_b", {"CUSTOM_SLICE_1GPU": 1}, parent_uuid=root)
    spec = boot(vcpus=0, memory_mb=0, root_gb=0, extra_specs={"resources:CUSTOM_SLICE_1GPU": "1"})
    [selection] = scheduler.select_destinations(spec)
    assert selection.compute_node_uuid == root
    offered = [selection.allocation_request, *selection.alternates]
    assert sorted(next(iter(a)) for a in offered) == sorted([slice_a, slice_b])


def test_schedule_and_claim_writes_the_allocation(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    uuid = fleet.add("h1")
    selection = scheduler.schedule_and_claim(boot("vm-1"))
    allocations = placement.get_consumer_allocations(uid("vm-1"))
    assert selection.host == "h1"
    assert dict(allocations.allocations[uuid].resources) == {
        "VCPU": 2,
        "MEMORY_MB": 2048,
        "DISK_GB": 10,
    }
    assert allocations.project_id == "project"


def test_claims_fill_a_host_then_move_to_the_next(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    fleet.add("big", vcpus=4, memory_mb=8192)
    fleet.add("small", vcpus=4, memory_mb=4096)
    chosen = [scheduler.schedule_and_claim(boot(f"vm-{i}", memory_mb=4096)).host for i in range(3)]
    assert chosen == ["big", "small", "big"]  # after one boot, small has more free VCPU
    with pytest.raises(errors.NoValidHost, match="MEMORY_MB"):
        scheduler.schedule_and_claim(boot("vm-4", memory_mb=4096))


def test_claim_of_a_stale_selection_is_a_conflict(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    uuid = fleet.add("h1", memory_mb=4096)
    spec = boot("vm-1", memory_mb=4096)
    [selection] = scheduler.select_destinations(spec)
    fleet.use(uuid, "thief", MEMORY_MB=4096)
    with pytest.raises(errors.Conflict):
        scheduler.claim(spec, selection)


class RacingPlacement:
    """The real service, with a concurrent boot winning the race right after each
    candidate query (``races`` run in turn, one per query)."""

    def __init__(
        self,
        real: PlacementService,
        races: list[Callable[[], object]],
        from_start: bool = False,
    ) -> None:
        self._real = real
        self._races = races
        self._from_start = from_start  # ignore the scheduler's random start
        self.queries = 0
        self.starts: list[tuple[int | None, float]] = []  # (limit, start) per query

    def allocation_candidates(self, query: CandidateQuery) -> CandidatesResult:
        self.starts.append((query.limit, query.start))
        if self._from_start:
            query = dataclasses.replace(query, start=0.0)
        result = self._real.allocation_candidates(query)
        self.queries += 1
        if self._races:
            self._races.pop(0)()
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_lost_race_moves_on_to_the_next_host(
    fleet: Fleet, placement: PlacementService, make_scheduler: SchedulerFactory, boot: BootFactory
) -> None:
    best = fleet.add("best", memory_mb=4096, vcpus=8)
    fleet.add("second", memory_mb=4096, vcpus=4)
    racing = RacingPlacement(placement, [lambda: fleet.use(best, "racer", MEMORY_MB=4096)])
    selection = make_scheduler(racing).schedule_and_claim(boot("vm-1", memory_mb=4096))
    assert selection.host == "second"
    assert racing.queries == 1
    claimed = placement.get_consumer_allocations(uid("vm-1")).allocations
    assert set(claimed) == {selection.compute_node_uuid}


def test_every_candidate_lost_asks_placement_again(
    fleet: Fleet, placement: PlacementService, make_scheduler: SchedulerFactory, boot: BootFactory
) -> None:
    first = fleet.add("first", memory_mb=4096, vcpus=8)
    second = fleet.add("second", memory_mb=4096, vcpus=4)

    def take_both_and_add_a_host() -> None:
        fleet.use(first, "racer-1", MEMORY_MB=4096)
        fleet.use(second, "racer-2", MEMORY_MB=4096)
        fleet.add("third", memory_mb=4096)

    racing = RacingPlacement(placement, [take_both_and_add_a_host])
    selection = make_scheduler(racing).schedule_and_claim(boot("vm-1", memory_mb=4096))
    assert selection.host == "third"
    assert racing.queries == 2


def test_losing_every_round_is_no_valid_host(
    fleet: Fleet, placement: PlacementService, make_scheduler: SchedulerFactory, boot: BootFactory
) -> None:
    hosts = [fleet.add("h0", memory_mb=4096)]

    def take_and_add(i: int) -> Callable[[], object]:
        def race() -> None:
            fleet.use(hosts[i], f"racer-{i}", MEMORY_MB=4096)
            hosts.append(fleet.add(f"h{i + 1}", memory_mb=4096))

        return race

    racing = RacingPlacement(placement, [take_and_add(i) for i in range(CLAIM_ROUNDS)])
    with pytest.raises(errors.NoValidHost, match="taken by concurrent requests"):
        make_scheduler(racing).schedule_and_claim(boot("vm-1", memory_mb=4096))
    assert dict(placement.get_consumer_allocations(uid("vm-1")).allocations) == {}


def test_unclaim_is_idempotent_and_safe_without_claim(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    fleet.add("h1")
    scheduler.unclaim(uid("never-claimed"))
    scheduler.schedule_and_claim(boot("vm-1"))
    scheduler.unclaim(uid("vm-1"))
    scheduler.unclaim(uid("vm-1"))
    assert dict(placement.get_consumer_allocations(uid("vm-1")).allocations) == {}
    # the capacity is back: the same boot fits again
    assert scheduler.schedule_and_claim(boot("vm-2")).host == "h1"


@pytest.mark.parametrize(("subset", "expect_several"), [(1, False), (3, True)])
def test_host_subset_size_spreads_concurrent_choices(
    fleet: Fleet,
    make_scheduler: SchedulerFactory,
    boot: BootFactory,
    subset: int,
    expect_several: bool,
) -> None:
    for name in ("a", "b", "c"):
        fleet.add(name)
    scheduler = make_scheduler(
        scheduler__host_subset_size=subset, scheduler__weights={"ram": "-1", "vcpu": "0"}
    )
    used = {
        scheduler.schedule_and_claim(boot(f"vm-{i}", vcpus=1, memory_mb=64)).host for i in range(12)
    }
    # packing alone sends all 12 boots to one host (16 VCPU); a random pick among 3
    # does so with probability 3**-11
    assert (len(used) > 1) is expect_several


def test_requested_host_is_found_beyond_the_placement_limit(
    fleet: Fleet, make_scheduler: SchedulerFactory, boot: BootFactory
) -> None:
    for name in ("first", "second", "third"):
        fleet.add(name)
    scheduler = make_scheduler(scheduler__max_placement_results=1)
    assert names(scheduler.select_destinations(boot(requested_host="third"))) == ["third"]


def test_unknown_requested_host_is_invalid_input(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    fleet.add("h1")
    with pytest.raises(errors.InvalidInput, match="'nowhere' could not be found"):
        scheduler.select_destinations(boot(requested_host="nowhere"))


def test_truncated_candidates_that_all_fail_filters_are_asked_again_without_limit(
    fleet: Fleet,
    db: Database,
    placement: PlacementService,
    make_scheduler: SchedulerFactory,
    boot: BootFactory,
) -> None:
    for name in ("down-1", "down-2"):  # placement lists these first
        fleet.add(name)
        host_db.mark_down(db, host=name)
    fleet.add("up")
    counting = RacingPlacement(placement, [], from_start=True)
    scheduler = make_scheduler(counting, scheduler__max_placement_results=1)
    assert names(scheduler.select_destinations(boot())) == ["up"]
    assert counting.queries == 2
    assert [limit for limit, _start in counting.starts] == [1, None]


def test_limited_queries_start_at_random_places_so_boots_sample_the_fleet(
    fleet: Fleet,
    placement: PlacementService,
    make_scheduler: SchedulerFactory,
    boot: BootFactory,
) -> None:
    for i in range(8):
        fleet.add(f"h{i}")
    counting = RacingPlacement(placement, [])
    scheduler = make_scheduler(counting, scheduler__max_placement_results=1)
    seen = {scheduler.select_destinations(boot(f"vm-{i}"))[0].host for i in range(120)}
    starts = [start for _limit, start in counting.starts]
    assert all(0.0 <= start < 1.0 for start in starts)
    assert len(set(starts)) == len(starts)
    # one candidate per query: without random starts every boot would see h0 only;
    # 120 random starts over 8 hosts miss one with probability < 8 * (7/8)**120 ~ 1e-6
    assert seen == {f"h{i}" for i in range(8)}


def test_claim_replaces_what_the_instance_already_holds(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    a = fleet.add("a", memory_mb=131072)
    b = fleet.add("b")
    spec = boot("vm-1")
    first = scheduler.schedule_and_claim(spec)
    assert first.compute_node_uuid == a
    # a reschedule to b without unclaiming first moves the allocation
    [on_b] = scheduler.select_destinations(boot("vm-1", requested_host="b"))
    scheduler.claim(spec, on_b)
    assert set(placement.get_consumer_allocations(uid("vm-1")).allocations) == {b}


def test_two_custom_classes_that_are_not_slices_are_asked_as_given(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    uuid = fleet.add("fpga-host", extra_inventory={"CUSTOM_FPGA": 1, "CUSTOM_LICENSE": 4})
    specs = {"resources:CUSTOM_FPGA": "1", "resources:CUSTOM_LICENSE": "2"}
    scheduler.schedule_and_claim(boot("vm-1", extra_specs=specs))
    claimed = placement.get_consumer_allocations(uid("vm-1")).allocations[uuid].resources
    assert claimed["CUSTOM_FPGA"] == 1
    assert claimed["CUSTOM_LICENSE"] == 2
