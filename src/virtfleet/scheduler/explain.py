"""Why no host fits: per constraint, how many hosts it excludes, as text and as data.

Placement is asked for the providers carrying each required or forbidden trait, and
for candidates once per resource class of each request group (that amount alone, with
the group's own semantics: a granular group's amount comes from one provider). Each
of these constraints is judged on its own, so one host can count under several. The
filters then run over the hosts no such constraint excluded, as they would in a
scheduling pass. When each constraint alone leaves some host but none meets them all
together (group policies, constraints met on different hosts), the explanation says so.

Slices: a host whose free slices of the asked class all overlap a slice in use is
counted under that class. The spec's explicit form (``1 x SLICE_4 + 4 x SLICE_1``),
which the scheduler asks as the chosen class only, is explained the same way: the
chosen class's capacity, its slices that overlap one in use, and free slices of it
whose slices below are not the listed ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from virtfleet.db.hosts import HostRecord
from virtfleet.placement.types import CandidateQuery, CandidatesResult, Provider
from virtfleet.scheduler import candidates as candidate_lib
from virtfleet.scheduler import filters as filter_lib
from virtfleet.scheduler import slices as slice_lib
from virtfleet.scheduler.constraints import UNNAMED, Constraints, Group, to_candidate_query
from virtfleet.scheduler.resource_request import describe

SAMPLE_SIZE = 5
#: The scheduler's name for a host whose slices all overlap a slice in use.
SLICES = "slices"


class PlacementReader(Protocol):
    """The two placement questions an explanation asks."""

    def allocation_candidates(self, query: CandidateQuery) -> CandidatesResult: ...

    def candidate_roots(self, query: CandidateQuery) -> list[str]: ...

    def list_providers(self, *, required: Sequence[frozenset[str]] = ()) -> list[Provider]: ...


@dataclasses.dataclass(frozen=True)
class Exclusion:
    """One constraint and the hosts it excludes on its own."""

    kind: str  # "resource" | "required_trait" | "forbidden_trait" | "aggregate" | "filter"
    constraint: str  # MEMORY_MB, COMPUTE_ARCH_AARCH64, "A or B", filter name
    summary: str  # "2 of 9 hosts lack capacity (MEMORY_MB)"
    excluded: int
    sample: tuple[str, ...]  # some excluded host names, sorted

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"sample": list(self.sample)}


@dataclasses.dataclass(frozen=True)
class Explanation:
    """The outcome for a request: which constraints exclude which hosts."""

    request: str
    total_hosts: int
    exclusions: tuple[Exclusion, ...]
    fitting_hosts: int = 0  # hosts meeting every constraint together
    note: str = ""

    @property
    def message(self) -> str:
        """One line, e.g. ``No valid host for 8 VCPU, …: 0 of 9 hosts offer X; …``."""
        parts = [e.summary for e in self.exclusions]
        if self.note:
            parts.append(self.note)
        head = (
            f"{self.fitting_hosts} of {self.total_hosts} hosts fit {self.request}"
            if self.fitting_hosts
            else f"No valid host for {self.request}"
        )
        return head + (": " + "; ".join(parts) if parts else "")

    def details(self) -> str:
        """Several lines with sample host names, for ``virtfleet explain``."""
        lines = [
            f"Request: {self.request}",
            f"Hosts: {self.total_hosts} known, {self.fitting_hosts} fit",
        ]
        for e in self.exclusions:
            sample = f" (left out: {', '.join(e.sample)})" if e.sample else ""
            lines.append(f"- {e.summary}{sample}")
        if self.note:
            lines.append(f"- {self.note}")
        return "\n".join(lines)

    def reasons(self) -> dict[str, list[str]]:
        """Constraint (or filter) -> sample excluded hosts (``NoValidHost.reasons``)."""
        reasons: dict[str, list[str]] = {}
        for e in self.exclusions:
            reasons.setdefault(e.constraint, []).extend(e.sample)
        return reasons

    def as_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "message": self.message,
            "total_hosts": self.total_hosts,
            "fitting_hosts": self.fitting_hosts,
            "exclusions": [e.as_dict() for e in self.exclusions],
            "note": self.note,
        }


def explain(
    constraints: Constraints,
    checks: Sequence[tuple[str, filter_lib.HostCheck]],
    placement: PlacementReader,
    hosts: Mapping[str, HostRecord],
    fitting_hosts: int = 0,
    candidate_rejections: Iterable[tuple[str, str, str]] = (),
) -> Explanation:
    """The explanation of ``constraints`` plus filter ``checks`` over ``hosts`` (by
    uuid); ``fitting_hosts`` is how many hosts the full request found, and
    ``candidate_rejections`` (name, reason, host uuid) are rejections of the candidates
    themselves (e.g. overlapping slices) from the scheduling pass."""
    total = len(hosts)
    excluded_sets: list[set[str]] = []
    exclusions: list[Exclusion] = []

    def add(kind: str, constraint: str, excluded: set[str], summary: str) -> None:
        excluded_sets.append(excluded)
        if excluded:
            names = sorted(hosts[u].host for u in excluded)
            exclusions.append(
                Exclusion(kind, constraint, summary, len(excluded), tuple(names[:SAMPLE_SIZE]))
            )

    for any_of, on_root in _required(constraints):
        offering = _hosts_with(placement, any_of, on_root) & hosts.keys()
        name = " or ".join(sorted(any_of))
        verb = "offer" if len(any_of) == 1 else "offer one of"
        summary = f"{len(offering)} of {total} hosts {verb} {name}"
        add("required_trait", name, set(hosts) - offering, summary)
    for trait, on_root in _forbidden(constraints):
        having = _hosts_with(placement, frozenset({trait}), on_root) & hosts.keys()
        summary = f"{len(having)} of {total} hosts have the forbidden trait {trait}"
        add("forbidden_trait", trait, having, summary)
    asked, explicit = _as_asked(placement, constraints)
    lacking: dict[str, set[str]] = {}
    for group in asked.groups:
        for rc, amount in group.resources.items():
            fits = _hosts_fitting(placement, Group(group.suffix, {rc: amount}))
            lacking.setdefault(rc, set()).update(hosts.keys() - fits)
    for rc, excluded in lacking.items():
        add("resource", rc, excluded, f"{len(excluded)} of {total} hosts lack capacity ({rc})")

    for rule in constraints.aggregates:
        outside = {u for u, h in hosts.items() if h.host not in rule.admitted}
        add("aggregate", rule.name, outside, f"{len(outside)} of {total} hosts {rule.reason}")

    # Filters only see hosts placement would offer, as in a real scheduling pass.
    offered = [h for u, h in hosts.items() if not any(u in e for e in excluded_sets)]
    grouped = _filter_rejections(checks, offered)
    rejected_slices = {u for name, _, u in candidate_rejections if name == SLICES and u in hosts}
    slice_reasons = _slice_reasons(placement, asked, explicit, rejected_slices)
    for name, reason, uuid in candidate_rejections:
        if uuid in hosts:
            reason = slice_reasons.get(uuid, reason) if name == SLICES else reason
            grouped.setdefault((name, reason), set()).add(uuid)
    for (name, reason), rejected in grouped.items():
        add("filter", name, rejected, f"{len(rejected)} of {total} hosts {reason}")

    fitting = set(hosts).difference(*excluded_sets)
    return Explanation(
        request=describe(constraints),
        total_hosts=total,
        exclusions=tuple(exclusions),
        fitting_hosts=fitting_hosts,
        note="" if fitting_hosts else _note(total, fitting),
    )


def _as_asked(
    placement: PlacementReader, constraints: Constraints
) -> tuple[Constraints, tuple[str, dict[str, int]] | None]:
    """The constraints the scheduler asked placement with: the slice spec's explicit
    form, when the request as given finds no host, is asked as its chosen class only;
    then also (chosen class, the custom amounts a claim must take)."""
    narrowed, totals = slice_lib.narrow_explicit_form(constraints)
    unnamed = constraints.group(UNNAMED)
    form = slice_lib.explicit_form(unnamed.resources) if unnamed is not None else None
    if totals is None or form is None:
        return constraints, None
    if placement.candidate_roots(to_candidate_query(constraints, None)):
        return constraints, None  # placement serves it as given: not the explicit form
    return narrowed, (form[0], totals)


def _slice_reasons(
    placement: PlacementReader,
    asked: Constraints,
    explicit: tuple[str, dict[str, int]] | None,
    uuids: set[str],
) -> dict[str, str]:
    """Host uuid -> why none of its slices could be given out, naming the class: all
    overlap a slice in use, or (explicit form) the free ones hold other slices below
    them than the form lists."""
    if not uuids:
        return {}
    if explicit is None:
        classes = sorted({rc for g in asked.groups for rc in g.resources if _custom(rc)})
        overlap = f"offer only {' and '.join(classes)} slices that overlap a slice in use"
        return dict.fromkeys(uuids, overlap)
    chosen, totals = explicit
    overlap = f"offer only {chosen} slices that overlap a slice in use"
    below = ", ".join(f"{n} {rc}" for rc, n in sorted(totals.items()) if rc != chosen)
    shape = f"have no free {chosen} slice with exactly {below} below it"
    options = candidate_lib.by_host(
        placement.allocation_candidates(to_candidate_query(asked, None))
    )
    return {
        uuid: shape if uuid in options and options[uuid].allocation_requests else overlap
        for uuid in uuids
    }


def _custom(resource_class: str) -> bool:
    return resource_class.startswith("CUSTOM_")


def _note(total: int, fitting: set[str]) -> str:
    if total == 0:
        return "no compute hosts are known"
    if fitting:
        return (
            f"{len(fitting)} of {total} hosts meet each constraint on its own, "
            "but none meets all of them together"
        )
    return ""


def _hosts_fitting(placement: PlacementReader, group: Group) -> set[str]:
    """Root uuids of the hosts that can serve ``group`` (ignoring everything else)."""
    constraints = Constraints(groups=(group,))
    # Every host, however many: placement's candidate cap does not apply here.
    return set(placement.candidate_roots(to_candidate_query(constraints, None)))


def _hosts_with(placement: PlacementReader, any_of: frozenset[str], on_root: bool) -> set[str]:
    """Root uuids of the hosts with one of ``any_of`` on the root (or anywhere)."""
    providers = placement.list_providers(required=[any_of])
    return {p.root_uuid for p in providers if not on_root or p.uuid == p.root_uuid}


def _required(constraints: Constraints) -> list[tuple[frozenset[str], bool]]:
    pairs = [(frozenset({t}), True) for t in sorted(constraints.root_required)]
    for group in constraints.groups:
        pairs.extend((s, False) for s in group.required if (s, False) not in pairs)
    return pairs


def _forbidden(constraints: Constraints) -> list[tuple[str, bool]]:
    pairs = [(t, True) for t in sorted(constraints.root_forbidden)]
    for group in constraints.groups:
        pairs.extend((t, False) for t in sorted(group.forbidden) if (t, False) not in pairs)
    return pairs


def _filter_rejections(
    checks: Sequence[tuple[str, filter_lib.HostCheck]], hosts: Iterable[HostRecord]
) -> dict[tuple[str, str], set[str]]:
    """(filter, reason) -> rejected host uuids, each filter judged on its own."""
    grouped: dict[tuple[str, str], set[str]] = {}
    for host in hosts:
        for name, check in checks:
            status = check(host)
            if not status.ok:
                grouped.setdefault((name, status.reason), set()).add(host.uuid)
    return grouped
