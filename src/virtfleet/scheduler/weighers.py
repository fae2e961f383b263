"""Weighers: rank the hosts that passed the filters.

Each weigher scores every candidate; the scores of one weigher are normalised to 0..1
across the candidates and multiplied by its multiplier (``[scheduler] weights``, e.g.
``ram:-1.0`` to pack instead of spread); a host's weight is the sum. The native-arch
weigher's default multiplier outweighs every capacity weigher together, so a host
that runs the guest natively beats one that emulates it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

from oslo_config import cfg

from virtfleet import errors
from virtfleet.db.hosts import HostRecord
from virtfleet.placement.types import ResourceUsage
from virtfleet.scheduler import guest
from virtfleet.scheduler import hints as hint_lib
from virtfleet.scheduler.resource_request import RequestSpec


@dataclasses.dataclass(frozen=True)
class HostCandidate:
    """A host placement can fit the request on, with its allocation requests (best
    first) and the capacity and usage per resource class of its root provider."""

    host: HostRecord
    allocation_requests: tuple[Mapping[str, Mapping[str, int]], ...]
    usage: Mapping[str, ResourceUsage]

    def free(self, resource_class: str) -> int:
        """Unallocated capacity of ``resource_class`` on the root provider (0 if none)."""
        usage = self.usage.get(resource_class)
        return max(0, usage.capacity - usage.used) if usage else 0


Score = Callable[[HostCandidate], float]


class Weigher(Protocol):
    """Scores candidates; a higher score is better before the multiplier."""

    @property
    def name(self) -> str: ...

    @property
    def default_multiplier(self) -> float: ...

    def prepare(self, spec: RequestSpec) -> Score | None:
        """The scoring function for ``spec``, or None when it cannot tell hosts apart."""
        ...


class NativeArchWeigher:
    """1 for a host that runs the guest architecture natively, 0 for one emulating it."""

    name = "native_arch"
    default_multiplier = 10.0

    def prepare(self, spec: RequestSpec) -> Score | None:
        arch = spec.guest.arch
        if arch is None:
            return None
        return lambda c: 1.0 if guest.runs_natively(c.host.cpu_info, arch) else 0.0


@dataclasses.dataclass(frozen=True)
class FreeCapacityWeigher:
    """More free ``resource_class`` scores higher (spread); a negative multiplier packs."""

    name: str
    resource_class: str
    default_multiplier: float = 1.0

    def prepare(self, spec: RequestSpec) -> Score:
        rc = self.resource_class

        def free(c: HostCandidate) -> float:
            usage = c.usage.get(rc)
            return float(max(0, usage.capacity - usage.used)) if usage else 0.0

        return free


@dataclasses.dataclass(frozen=True)
class ServerGroupSoftWeigher:
    """Soft (anti-)affinity: a host scores by how many of the group's other members
    it holds (more for soft-affinity, fewer for soft-anti-affinity). Its default
    multiplier outweighs the capacity weighers together, so the group's policy wins
    whenever a host allows it, and the native-arch weigher outweighs it."""

    name: str
    policy: str
    sign: float
    default_multiplier: float = 5.0

    def prepare(self, spec: RequestSpec) -> Score | None:
        affinity = spec.affinity
        if affinity is None or affinity.policy != self.policy or not affinity.member_hosts:
            return None
        sign = self.sign
        return lambda c: sign * affinity.members_on(c.host.host)


#: Every weigher by name.
WEIGHERS: dict[str, Weigher] = {
    w.name: w
    for w in (
        NativeArchWeigher(),
        FreeCapacityWeigher("ram", "MEMORY_MB"),
        FreeCapacityWeigher("vcpu", "VCPU"),
        ServerGroupSoftWeigher("soft_affinity", hint_lib.SOFT_AFFINITY, 1.0),
        ServerGroupSoftWeigher("soft_anti_affinity", hint_lib.SOFT_ANTI_AFFINITY, -1.0),
    )
}


def multipliers(conf: cfg.ConfigOpts) -> dict[str, float]:
    """Multiplier per weigher: the defaults overridden by ``[scheduler] weights``."""
    result = {name: w.default_multiplier for name, w in WEIGHERS.items()}
    for name, value in (conf.scheduler.weights or {}).items():
        if name not in WEIGHERS:
            raise errors.ConfigError(
                f"[scheduler] weights names unknown weigher {name!r}; "
                f"known: {', '.join(sorted(WEIGHERS))}"
            )
        try:
            result[name] = float(value)
        except ValueError:
            raise errors.ConfigError(
                f"[scheduler] weights {name}:{value!r} is not a number"
            ) from None
    return result


@dataclasses.dataclass(frozen=True)
class WeigherScore:
    """One weigher's view of one host: its raw score (free MB, 1/0 for native...) and
    the share of the host's weight it gave (normalised across hosts, times the multiplier)."""

    weigher: str
    raw: float
    weight: float


def _columns(
    spec: RequestSpec, candidates: Sequence[HostCandidate], factors: Mapping[str, float]
) -> Iterator[tuple[str, list[float], list[float]]]:
    """Per weigher that counts: its name, raw scores and weights, one per candidate.
    A weigher whose raw scores are all equal gives every candidate 0."""
    for name, weigher in WEIGHERS.items():
        factor = factors.get(name, weigher.default_multiplier)
        score = weigher.prepare(spec) if factor else None
        if score is None:
            continue
        values = list(map(score, candidates))
        low, high = min(values, default=0.0), max(values, default=0.0)
        if high == low:
            yield name, values, [0.0] * len(values)
            continue
        scale = factor / (high - low)
        yield name, values, [(value - low) * scale for value in values]


def weigh(
    spec: RequestSpec, candidates: Sequence[HostCandidate], factors: Mapping[str, float]
) -> list[tuple[float, HostCandidate]]:
    """``(weight, candidate)`` pairs, heaviest first (ties by host name)."""
    totals = [0.0] * len(candidates)
    for _, _, weights in _columns(spec, candidates, factors):
        totals = [total + w for total, w in zip(totals, weights, strict=True)]
    ranked = sorted(zip(totals, candidates, strict=True), key=lambda p: (-p[0], p[1].host.host))
    return ranked


def scores(
    spec: RequestSpec, candidates: Sequence[HostCandidate], factors: Mapping[str, float]
) -> list[list[WeigherScore]]:
    """Each candidate's weight taken apart by weigher (for explanations)."""
    per_host: list[list[WeigherScore]] = [[] for _ in candidates]
    for name, values, weights in _columns(spec, candidates, factors):
        for host_scores, raw, weight in zip(per_host, values, weights, strict=True):
            host_scores.append(WeigherScore(name, raw, weight))
    return per_host
