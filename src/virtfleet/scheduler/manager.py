"""The scheduler: request -> placement candidates -> filters -> weighers -> claim.

Stages (one protocol and one registry each): prefilters (:mod:`.prefilters`) add
required traits before placement is asked; filters (:mod:`.filters`) reject hosts with
a reason; weighers (:mod:`.weighers`) rank the rest; :meth:`Scheduler.claim` reserves
the winner in placement (consumer = instance uuid) and :meth:`Scheduler.unclaim` is its
idempotent rollback. When nothing fits, :class:`~virtfleet.errors.NoValidHost` carries
the explanation of :mod:`.explain`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from oslo_config import cfg

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.hosts import HostRecord
from virtfleet.observability import metrics
from virtfleet.placement.types import (
    CandidateQuery,
    CandidatesResult,
    ConsumerAllocations,
    Provider,
)
from virtfleet.scheduler import candidates as candidate_lib
from virtfleet.scheduler import explain as explain_lib
from virtfleet.scheduler import filters as filter_lib
from virtfleet.scheduler import server_groups
from virtfleet.scheduler import slices as slice_lib
from virtfleet.scheduler import weighers as weigher_lib
from virtfleet.scheduler.aggregate_cache import AggregateCache
from virtfleet.scheduler.candidates import Allocations
from virtfleet.scheduler.constraints import Constraints, to_candidate_query
from virtfleet.scheduler.host_cache import HostCache
from virtfleet.scheduler.prefilters import request_constraints
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.virt import arch as virt_arch

LOG = logging.getLogger(__name__)

#: Rejections made by the scheduler itself rather than a filter: (name, reason).
NO_RECORD = ("compute_node", "have no compute node record")
ALL_SLICES_OVERLAP = ("slices", "offer only slices that overlap a slice in use")

#: Times :meth:`Scheduler.schedule_and_claim` asks placement again after every
#: candidate was taken by concurrent requests.
CLAIM_ROUNDS = 3


class Placement(Protocol):
    """What the scheduler needs of :class:`~virtfleet.placement.service.PlacementService`."""

    def allocation_candidates(self, query: CandidateQuery) -> CandidatesResult: ...

    def candidate_roots(self, query: CandidateQuery) -> list[str]: ...

    def list_providers(self, *, required: Sequence[frozenset[str]] = ()) -> list[Provider]: ...

    def replace_allocations(
        self,
        consumer_uuid: str,
        allocations: Mapping[str, Mapping[str, int]],
        project_id: str,
        user_id: str,
        consumer_generation: int | None,
    ) -> None: ...

    def delete_allocations(self, consumer_uuid: str) -> None: ...

    def get_consumer_allocations(self, consumer_uuid: str) -> ConsumerAllocations: ...


@dataclasses.dataclass(frozen=True)
class Selection:
    """A chosen host: its name, compute node (= root provider) uuid, the allocation to
    claim, its weight, and other allocations placement offered on the same host."""

    host: str
    compute_node_uuid: str
    allocation_request: Allocations
    weight: float
    alternates: tuple[Allocations, ...] = ()


@dataclasses.dataclass(frozen=True)
class Rejection:
    """A candidate host a filter (or the slice overlap check) turned down."""

    host: str
    host_uuid: str
    filter: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One pass over placement's candidates: what passed (best first) and what not."""

    constraints: Constraints
    ranked: list[tuple[float, weigher_lib.HostCandidate]]
    rejections: list[Rejection]
    truncated: bool = False  # placement stopped at the limit

    def selections(self, limit: int | None = None) -> list[Selection]:
        """The best ``limit`` hosts (all by default) as selections, best first."""
        ranked = self.ranked if limit is None else self.ranked[:limit]
        return [_selection(weight, candidate) for weight, candidate in ranked]


def _selection(weight: float, candidate: weigher_lib.HostCandidate) -> Selection:
    return Selection(
        host=candidate.host.host,
        compute_node_uuid=candidate.host.uuid,
        allocation_request=candidate.allocation_requests[0],
        weight=weight,
        alternates=candidate.allocation_requests[1:],
    )


def _natives_first(natives: Attempt, window: Attempt) -> Attempt:
    """``window`` with the hosts of ``natives`` ranked before all of its own."""
    seen = {candidate.host.uuid for _, candidate in natives.ranked}
    rest = [pair for pair in window.ranked if pair[1].host.uuid not in seen]
    return dataclasses.replace(window, ranked=[*natives.ranked, *rest])


def _uuid_of(hosts: Mapping[str, HostRecord], name: str) -> str | None:
    return next((h.uuid for h in hosts.values() if h.host == name), None)


class Scheduler:
    """Selects and claims hosts for boot and move requests."""

    def __init__(self, conf: cfg.ConfigOpts, db: Database, placement: Placement) -> None:
        self._conf = conf
        self._db = db
        self._placement = placement
        self._multipliers = weigher_lib.multipliers(conf)
        self.hosts = HostCache(db, conf.scheduler.host_cache_seconds)
        self.aggregates = AggregateCache(db)
        self._verdicts = filter_lib.Verdicts()
        self._random = random.Random()  # noqa: S311 - spreads load, not a secret

    def attempt(self, spec: RequestSpec, unlimited: bool = False) -> Attempt:
        """Ask placement (for at most ``[scheduler] max_placement_results`` candidates
        unless ``unlimited``), filter and weigh; never raises NoValidHost."""
        spec = server_groups.resolve(self._db, spec)
        constraints = request_constraints(spec, self._conf, self.aggregates.current())
        if spec.requested_host is not None:
            constraints = dataclasses.replace(
                constraints, in_tree=self._requested_host_uuid(spec.requested_host)
            )
        limit: int | None = None if unlimited else self._conf.scheduler.max_placement_results
        native = self._native_only(spec, constraints) if limit is not None else None
        timer = metrics.Timer()
        attempt = self._windowed(spec, constraints, limit)
        if native is not None:
            # A limited window may hold only emulating hosts while a native one has
            # room elsewhere: the native hosts' own window goes first, so native wins.
            natives = self._windowed(spec, native, limit)
            attempt = _natives_first(natives, attempt)
        outcome = "found" if attempt.ranked else "no_valid_host"
        metrics.SCHEDULER_DECISIONS.labels(outcome).observe(timer.elapsed())
        return attempt

    def _windowed(self, spec: RequestSpec, constraints: Constraints, limit: int | None) -> Attempt:
        attempt = self._attempt(spec, constraints, limit)
        if not attempt.ranked and attempt.truncated:
            # Every candidate of a truncated list failed the filters (e.g. many hosts
            # down): the hosts placement left out may still fit.
            attempt = self._attempt(spec, constraints, None)
        return attempt

    def _native_only(self, spec: RequestSpec, constraints: Constraints) -> Constraints | None:
        """``constraints`` narrowed to hosts running the guest arch natively (its
        ``HW_ARCH_*`` trait), when the native-arch weigher counts and the request does
        not already ask for that; None otherwise."""
        if self._multipliers.get(weigher_lib.NativeArchWeigher.name, 0.0) <= 0:
            return None
        arch = spec.guest.arch
        trait = virt_arch.hw_arch_trait(arch) if arch is not None else None
        if trait is None or trait in constraints.root_required:
            return None
        return constraints.require_on_root(trait)

    def _requested_host_uuid(self, name: str) -> str:
        """The uuid of the requested host (reloading the cache once if it is unknown);
        InvalidInput when there is no such host."""
        uuid = _uuid_of(self.hosts.snapshot(), name)
        if uuid is None:
            self.hosts.invalidate()
            uuid = _uuid_of(self.hosts.snapshot(), name)
        if uuid is None:
            raise errors.InvalidInput(f"Compute host {name!r} could not be found.")
        return uuid

    def _attempt(self, spec: RequestSpec, constraints: Constraints, limit: int | None) -> Attempt:
        # A limited answer starts at a random place among the fitting hosts, so that
        # boots sample the whole fleet rather than always its oldest hosts.
        start = self._random.random() if limit is not None else 0.0
        result = self._placement.allocation_candidates(
            to_candidate_query(constraints, limit, start)
        )
        expected_custom: dict[str, int] | None = None
        if not result.allocation_requests:
            # Perhaps the slice spec's explicit form (1 x SLICE_4 + 4 x SLICE_1), which
            # no single provider serves as asked: ask for the chosen slice and keep the
            # expanded claims with exactly those amounts.
            narrowed, expected_custom = slice_lib.narrow_explicit_form(constraints)
            if expected_custom is not None:
                query = to_candidate_query(narrowed, limit, start)
                result = self._placement.allocation_candidates(query)
        options = candidate_lib.by_host(result, expected_custom)
        metrics.SCHEDULER_CANDIDATES.observe(len(options))
        hosts = self.hosts.snapshot(wanted=options)
        verdict = self._verdicts.for_request(spec)
        passed: list[weigher_lib.HostCandidate] = []
        rejections: list[Rejection] = []
        for root, option in options.items():
            host = hosts.get(root)
            if host is None:
                rejections.append(Rejection(root, root, *NO_RECORD))
                continue
            rejected = verdict(host)
            if rejected is not None:
                rejections.append(Rejection(host.host, root, rejected[0], rejected[1].reason))
                continue
            if not option.allocation_requests:
                rejections.append(Rejection(host.host, root, *ALL_SLICES_OVERLAP))
                continue
            passed.append(
                weigher_lib.HostCandidate(host, tuple(option.allocation_requests), option.usage)
            )
        ranked = weigher_lib.weigh(spec, passed, self._multipliers)
        for r in rejections:
            LOG.debug("%s rejected %s: %s", r.filter, r.host, r.reason)
        truncated = limit is not None and len(result.allocation_requests) >= limit
        return Attempt(constraints, ranked, rejections, truncated)

    def select_destinations(
        self, spec: RequestSpec, max_results: int | None = None
    ) -> list[Selection]:
        """Hosts for ``spec``, best first (at most ``max_results``); NoValidHost with
        an explanation when there is none. InvalidInput for a bad request."""
        attempt = self.attempt(spec)
        if not attempt.ranked:
            raise self._no_valid_host(spec, attempt)
        return attempt.selections(max_results)

    def weighed_destinations(
        self, spec: RequestSpec, max_results: int | None = None
    ) -> list[tuple[Selection, list[weigher_lib.WeigherScore]]]:
        """:meth:`select_destinations` with each host's weight taken apart by weigher
        (normalised across every host that fits), to explain why the first won."""
        spec = server_groups.resolve(self._db, spec)
        attempt = self.attempt(spec)
        if not attempt.ranked:
            raise self._no_valid_host(spec, attempt)
        per_host = weigher_lib.scores(spec, [c for _, c in attempt.ranked], self._multipliers)
        return list(zip(attempt.selections(max_results), per_host, strict=False))

    def claim(self, spec: RequestSpec, selection: Selection) -> Selection:
        """Make the selected host's allocation (the selection's, else one of its
        alternates) the instance's only allocation — replacing one it already holds,
        e.g. on a reschedule; returns the selection as claimed. Raises Conflict when
        every allocation on that host lost a race."""
        lost: errors.Conflict | None = None
        timer = metrics.Timer()
        for allocation in (selection.allocation_request, *selection.alternates):
            try:
                self._write_allocation(spec, allocation)
            except errors.Conflict as exc:
                LOG.debug("claim of %s on %s lost: %s", spec.instance_uuid, selection.host, exc)
                lost = exc
                continue
            metrics.SCHEDULER_CLAIMS.labels("claimed").observe(timer.elapsed())
            return dataclasses.replace(selection, allocation_request=allocation, alternates=())
        metrics.SCHEDULER_CLAIMS.labels("lost").observe(timer.elapsed())
        assert lost is not None
        raise lost

    def _write_allocation(self, spec: RequestSpec, allocation: Allocations) -> None:
        def write(generation: int | None) -> None:
            self._placement.replace_allocations(
                spec.instance_uuid,
                allocation,
                project_id=spec.project_id,
                user_id=spec.user_id,
                consumer_generation=generation,
            )

        try:
            write(None)  # the common case: a new consumer
        except errors.ConcurrentUpdate:
            current = self._placement.get_consumer_allocations(spec.instance_uuid)
            if current.consumer_generation is None:
                raise
            write(current.consumer_generation)

    def unclaim(self, instance_uuid: str) -> None:
        """Drop the instance's allocations; safe when it holds none."""
        with contextlib.suppress(errors.NotFound):
            self._placement.delete_allocations(instance_uuid)

    def schedule_and_claim(self, spec: RequestSpec) -> Selection:
        """Select and claim the best host, moving on to the next one whenever a claim
        loses a race (and asking placement again when all were taken)."""
        for _ in range(CLAIM_ROUNDS):
            attempt = self.attempt(spec)
            if not attempt.ranked:
                raise self._no_valid_host(spec, attempt)
            for weight, candidate in self._claim_order(attempt.ranked):
                try:
                    return self.claim(spec, _selection(weight, candidate))
                except errors.Conflict:
                    continue
        raise self._no_valid_host(
            spec,
            self.attempt(spec),
            f"every candidate host was taken by concurrent requests in {CLAIM_ROUNDS} rounds",
        )

    def _claim_order(
        self, ranked: list[tuple[float, weigher_lib.HostCandidate]]
    ) -> Iterator[tuple[float, weigher_lib.HostCandidate]]:
        """Best first, except that one of the best ``host_subset_size`` hosts is tried
        first at random, so that concurrent boots do not all race for one host."""
        subset = min(self._conf.scheduler.host_subset_size, len(ranked))
        first = self._random.randrange(subset) if subset > 1 else 0
        yield ranked[first]
        yield from (pair for i, pair in enumerate(ranked) if i != first)

    def explain(self, spec: RequestSpec) -> explain_lib.Explanation:
        """Which constraints of ``spec`` exclude which hosts, and how many fit."""
        return self._explain(spec, self.attempt(spec, unlimited=True))

    def _explain(self, spec: RequestSpec, attempt: Attempt) -> explain_lib.Explanation:
        spec = server_groups.resolve(self._db, spec)
        return explain_lib.explain(
            attempt.constraints,
            filter_lib.prepare_checks(spec),
            self._placement,
            self.hosts.snapshot(),
            fitting_hosts=len(attempt.ranked),
            candidate_rejections=[
                (r.filter, r.reason, r.host_uuid)
                for r in attempt.rejections
                if (r.filter, r.reason) == ALL_SLICES_OVERLAP
            ],
        )

    def _no_valid_host(
        self, spec: RequestSpec, attempt: Attempt, note: str = ""
    ) -> errors.NoValidHost:
        explanation = self._explain(spec, attempt)
        message = f"{explanation.message}; {note}" if note else explanation.message
        return errors.NoValidHost(message, explanation.reasons())
