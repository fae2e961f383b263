"""The shared move steps as units, on fakes: candidates and their refusals, the
choice of a destination (check, claim, next one with the reason), the claim as Nova
holds it (instance: destination, migration: source) with its confirm and give-back,
and the cancel flags."""

from __future__ import annotations

import dataclasses
import types
from typing import Any, cast

import pytest

from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.conductor.moves import claim, destination, retry, storage
from virtfleet.conductor.moves.move import Move
from virtfleet.conductor.moves.policy import MigrationCancelled
from virtfleet.conductor.moves.refusals import Refusals
from virtfleet.conductor.moves.services import MigrationPlacement, Services
from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.placement.types import ConsumerAllocations, ConsumerRequest, ProviderAllocation
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

SERVER = "6f1c9a4e-8f0b-4d0e-9a7d-0c8d2b7c1a11"
MIGRATION = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"


def selection(host: str) -> Selection:
    return Selection(host, f"rp-{host}", {f"rp-{host}": {"VCPU": 1}}, 1.0)


def spec_for(refused: frozenset[str]) -> RequestSpec:
    return RequestSpec(MIGRATION, "p", "u", FlavorSpec(1, 512, 1), ignore_hosts=refused)


class FakeScheduler:
    """Offers ``hosts`` minus the ignored ones."""

    def __init__(self, hosts: list[str]) -> None:
        self.hosts = hosts
        self.asked: list[frozenset[str]] = []
        self.unclaimed: list[str] = []

    def select_destinations(
        self, spec: RequestSpec, max_results: int | None = None
    ) -> list[Selection]:
        self.asked.append(spec.ignore_hosts)
        offered = [selection(h) for h in self.hosts if h not in spec.ignore_hosts]
        if not offered:
            raise errors.NoValidHost("0 hosts fit")
        return offered[:max_results]

    def unclaim(self, instance_uuid: str) -> None:
        self.unclaimed.append(instance_uuid)


@dataclasses.dataclass
class FakePlacement:
    """Consumers' allocations; the first ``races`` writes lose to a concurrent one, and
    writes that put anything on a provider in ``full`` are over capacity."""

    held: dict[str, dict[str, dict[str, int]]]
    races: int = 0
    full: frozenset[str] = frozenset()
    writes: list[dict[str, ConsumerRequest]] = dataclasses.field(default_factory=list)

    def get_consumer_allocations(self, consumer_uuid: str) -> ConsumerAllocations:
        found = self.held.get(consumer_uuid, {})
        return ConsumerAllocations(
            consumer_uuid,
            {rp: ProviderAllocation(res, 1) for rp, res in found.items()},
            "p" if found else None,
            "u" if found else None,
            3 if found else None,
            None,
        )

    def replace_many(self, requests: dict[str, ConsumerRequest]) -> None:
        if self.races:
            self.races -= 1
            raise errors.ConcurrentUpdate("consumer generation changed")
        if any(rp in self.full for r in requests.values() for rp in r.allocations):
            raise errors.Conflict("over capacity")
        self.writes.append(requests)
        for consumer, request in requests.items():
            self.held[consumer] = {rp: dict(r) for rp, r in request.allocations.items()}


# ----------------------------------------------------------------- candidates


def test_candidates_ask_again_without_the_refused_hosts() -> None:
    scheduler = FakeScheduler(["b", "c", "d"])
    refusals = Refusals(SERVER)
    seen = []
    for chosen in destination.candidates(scheduler, spec_for, refusals, max_attempts=1 + 2):
        seen.append(chosen.host)
        if chosen.host != "d":
            refusals.add(chosen.host, f"{chosen.host} is full")
            continue
        break
    assert seen == ["b", "c", "d"]
    assert scheduler.asked[0] == frozenset()


def test_candidates_stop_at_max_attempts_naming_every_refusal() -> None:
    refusals = Refusals(SERVER)
    with pytest.raises(errors.NoValidHost) as raised:
        for chosen in destination.candidates(FakeScheduler(["b", "c", "d"]), spec_for, refusals, 2):
            refusals.add(chosen.host, "too old")
    assert raised.value.message == (
        f"Live migration of {SERVER}: 2 hosts refused — b: too old; c: too old"
    )


def test_candidates_end_with_the_schedulers_reason_after_the_refusals() -> None:
    refusals = Refusals(SERVER)
    with pytest.raises(errors.NoValidHost) as raised:
        for chosen in destination.candidates(FakeScheduler(["b"]), spec_for, refusals, 3):
            refusals.add(chosen.host, "no mdev")
    assert raised.value.message == (
        f"Live migration of {SERVER}: 1 host refused — b: no mdev; no further host: 0 hosts fit"
    )


def test_a_forced_host_is_the_only_attempt() -> None:
    assert destination.max_attempts(5, "b") == 1
    assert destination.max_attempts(5, None) == 5


# ----------------------------------------------------------------- choose


class FakeFlow:
    """Checks refuse the hosts in ``refused``; records what it was asked."""

    def __init__(self, refused: dict[str, str]) -> None:
        server, migration = moving()
        self._move = Move(
            cast(records.Migration, migration), cast(servers.Server, server), requested_host=None
        )
        self.refused = refused
        self.checked: list[str] = []
        self.released: list[str] = []

    @property
    def move(self) -> Move:
        return self._move

    def spec_for(self, refused: frozenset[str]) -> RequestSpec:
        return spec_for(refused)

    def check(self, chosen: Selection) -> str:
        self.checked.append(chosen.host)
        if chosen.host in self.refused:
            raise errors.InvalidInput(self.refused[chosen.host])
        return f"data for {chosen.host}"

    def release(self, data: str) -> None:
        self.released.append(data)


def services(
    scheduler: FakeScheduler, placement: FakePlacement | None = None, db: Any = None
) -> Services:
    """Services of the fakes; ``db`` (a real one) where the server-group check reads it
    (the server is in no group there)."""
    conf = vconf.make_conf(scheduler__max_attempts=3)
    placement = placement or FakePlacement({})
    return Services(conf, db, placement, scheduler, cast(Any, None))


def test_choose_takes_the_first_candidate_that_passes_and_claims(db: Database) -> None:
    placement = FakePlacement({SERVER: {"rp-a": {"VCPU": 1}}}, full=frozenset({"rp-c"}))
    flow = FakeFlow({"b": "destination too old"})
    svc = services(FakeScheduler(["b", "c", "d"]), placement, db)
    chosen, data = retry.choose_destination(cast(Any, flow), svc, MoveTracker())
    assert (chosen.host, data) == ("d", "data for d")
    assert flow.checked == ["b", "c", "d"]
    assert flow.released == ["data for c"]  # its device claims, once the claim was lost
    assert placement.held == {SERVER: {"rp-d": {"VCPU": 1}}, MIGRATION: {"rp-a": {"VCPU": 1}}}


def test_choose_gives_up_with_every_reason(db: Database) -> None:
    placement = FakePlacement({SERVER: {"rp-a": {"VCPU": 1}}}, full=frozenset({"rp-c"}))
    flow = FakeFlow({"b": "destination too old"})
    with pytest.raises(errors.NoValidHost) as raised:
        retry.choose_destination(
            cast(Any, flow), services(FakeScheduler(["b", "c"]), placement, db), MoveTracker()
        )
    assert "b: destination too old" in raised.value.message
    assert "c: lost the claim to a concurrent request (over capacity)" in raised.value.message
    assert raised.value.message.endswith("no further host: 0 hosts fit")
    assert placement.writes == [] and placement.held == {SERVER: {"rp-a": {"VCPU": 1}}}


def test_choose_stops_when_the_move_was_aborted() -> None:
    tracker = MoveTracker()
    tracker.cancel(7)
    flow = FakeFlow({})
    with pytest.raises(MigrationCancelled, match="migration 7 was aborted"):
        retry.choose_destination(cast(Any, flow), services(FakeScheduler(["b"])), tracker)
    assert flow.checked == []


# ----------------------------------------------------------------- claim


def moving() -> tuple[servers.Server, records.Migration]:
    server = types.SimpleNamespace(uuid=SERVER, project_id="p", user_id="u")
    migration = types.SimpleNamespace(
        id=7,
        uuid=MIGRATION,
        instance_uuid=SERVER,
        project_id="p",
        user_id="u",
        migration_type=records.LIVE_MIGRATION,
    )
    return cast(servers.Server, server), cast(records.Migration, migration)


def test_claim_swaps_in_one_write_instance_to_destination_migration_to_source() -> None:
    placement = FakePlacement({SERVER: {"rp-a": {"VCPU": 1}}}, races=2)
    claimed = claim.claim(cast(MigrationPlacement, placement), *moving(), selection("b"))
    assert claimed.host == "b"
    assert placement.held == {SERVER: {"rp-b": {"VCPU": 1}}, MIGRATION: {"rp-a": {"VCPU": 1}}}
    (write,) = placement.writes
    assert write[SERVER].consumer_generation == 3 and write[MIGRATION].consumer_generation is None


def test_claim_tries_the_alternates_on_the_host_then_conflicts() -> None:
    offered = dataclasses.replace(selection("b"), alternates=({"rp-b2": {"VCPU": 1}},))
    placement = FakePlacement({SERVER: {"rp-a": {"VCPU": 1}}}, full=frozenset({"rp-b"}))
    claimed = claim.claim(cast(MigrationPlacement, placement), *moving(), offered)
    assert claimed.allocation_request == {"rp-b2": {"VCPU": 1}} and claimed.alternates == ()
    placement = FakePlacement({SERVER: {"rp-a": {"VCPU": 1}}}, full=frozenset({"rp-b", "rp-b2"}))
    with pytest.raises(errors.Conflict, match="over capacity"):
        claim.claim(cast(MigrationPlacement, placement), *moving(), offered)
    assert placement.held == {SERVER: {"rp-a": {"VCPU": 1}}}


def test_give_back_returns_the_source_to_the_instance_in_one_write() -> None:
    placement = FakePlacement(
        {SERVER: {"rp-b": {"VCPU": 1}}, MIGRATION: {"rp-a": {"VCPU": 1}}}, races=2
    )
    claim.give_back(cast(MigrationPlacement, placement), moving()[1])
    assert placement.held == {SERVER: {"rp-a": {"VCPU": 1}}, MIGRATION: {}}
    (write,) = placement.writes
    assert write[SERVER].consumer_generation == 3 and write[MIGRATION].allocations == {}


def test_give_back_without_a_claim_keeps_the_instances_allocation() -> None:
    placement = FakePlacement({SERVER: {"rp-a": {"VCPU": 1}}})
    claim.give_back(cast(MigrationPlacement, placement), moving()[1])
    assert placement.held == {SERVER: {"rp-a": {"VCPU": 1}}} and placement.writes == []


def test_give_back_that_keeps_losing_is_a_conflict() -> None:
    placement = FakePlacement(
        {SERVER: {"rp-b": {"VCPU": 1}}, MIGRATION: {"rp-a": {"VCPU": 1}}},
        races=claim.WRITE_ATTEMPTS,
    )
    with pytest.raises(errors.Conflict, match=f"could not give {SERVER} its allocation back"):
        claim.give_back(cast(MigrationPlacement, placement), moving()[1])
    assert placement.held[MIGRATION] == {"rp-a": {"VCPU": 1}}  # nothing half-written


def test_confirm_and_release_drop_the_migrations_consumer() -> None:
    scheduler = FakeScheduler([])
    claim.confirm(scheduler, moving()[1])
    claim.release(scheduler, moving()[1])
    assert scheduler.unclaimed == [MIGRATION, MIGRATION]


# ----------------------------------------------------------------- tracking


def test_tracker_flags() -> None:
    tracker = MoveTracker()
    tracker.begin(1)
    tracker.cancel(1)
    assert tracker.active() == {1} and tracker.is_cancelled(1)
    with pytest.raises(MigrationCancelled):
        tracker.check_cancelled(1)
    tracker.forget_cancel(1)
    tracker.done(1)
    tracker.check_cancelled(1)
    assert tracker.active() == frozenset() and not tracker.is_active(1)


# ----------------------------------------------------------------- evacuation storage


@pytest.mark.parametrize(
    ("caller", "on_disk", "refused"),
    [
        (None, True, None),  # from 2.14 the destination decides
        (None, False, None),
        (True, True, None),
        (False, False, None),
        (True, False, "kvm-b does not see the server's disk on its instances path"),
        (False, True, "kvm-b sees the server's disk on its instances path"),
    ],
)
def test_an_evacuation_destination_must_agree_with_on_shared_storage(
    caller: bool | None, on_disk: bool, refused: str | None
) -> None:
    reason = storage.evacuation_refusal(caller, on_disk, "kvm-b")
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(storage.INVALID_SHARED_STORAGE)
        assert refused in reason
