"""What a boot asks of placement, in the scheduler's own terms.

:class:`Constraints` is built from the flavor (:mod:`virtfleet.scheduler.resource_request`),
narrowed by prefilters (:mod:`virtfleet.scheduler.prefilters`), taken apart one
constraint at a time by :mod:`virtfleet.scheduler.explain`, and turned into placement's
``CandidateQuery`` in exactly one place, :func:`to_candidate_query`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from virtfleet.placement.types import CandidateQuery

UNNAMED = ""


@dataclasses.dataclass(frozen=True)
class Group:
    """One request group: the unnamed one (suffix ``""``) or a granular ``resourcesN``."""

    suffix: str = UNNAMED
    resources: Mapping[str, int] = dataclasses.field(default_factory=dict)
    required: tuple[frozenset[str], ...] = ()
    forbidden: frozenset[str] = frozenset()

    def with_traits(
        self, required: Iterable[frozenset[str]] = (), forbidden: Iterable[str] = ()
    ) -> Group:
        return dataclasses.replace(
            self,
            required=_merge_any_of(self.required, required),
            forbidden=self.forbidden | frozenset(forbidden),
        )


@dataclasses.dataclass(frozen=True)
class AggregateRule:
    """A prefilter's aggregate constraint on the host (its root provider): a member
    of one of ``member_of`` (when given) and of none of ``forbidden``. ``admitted``
    are the host names it lets through (for explanations); ``reason`` reads after
    "N of M hosts", e.g. ``are not in availability zone az1``."""

    name: str
    reason: str
    admitted: frozenset[str]
    member_of: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Constraints:
    """All request groups plus the root-provider traits and the group options."""

    groups: tuple[Group, ...] = ()
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    group_policy: str | None = None
    same_subtree: tuple[frozenset[str], ...] = ()
    in_tree: str | None = None  # only the tree of this provider (a requested host)
    aggregates: tuple[AggregateRule, ...] = ()

    def group(self, suffix: str) -> Group | None:
        return next((g for g in self.groups if g.suffix == suffix), None)

    def require_on_root(self, *traits: str) -> Constraints:
        """A copy that also requires ``traits`` on the host's root provider."""
        return dataclasses.replace(self, root_required=self.root_required | frozenset(traits))

    def with_aggregate_rule(self, rule: AggregateRule) -> Constraints:
        """A copy that also applies ``rule``."""
        return dataclasses.replace(self, aggregates=(*self.aggregates, rule))

    def resource_totals(self) -> dict[str, int]:
        """Amount per resource class summed over all groups (for messages)."""
        totals: dict[str, int] = {}
        for group in self.groups:
            for rc, amount in group.resources.items():
                totals[rc] = totals.get(rc, 0) + amount
        return totals

    def required_traits(self) -> list[frozenset[str]]:
        """Every required any-of set, root ones first, without repeats."""
        seen: list[frozenset[str]] = [frozenset({t}) for t in sorted(self.root_required)]
        for group in self.groups:
            seen.extend(s for s in group.required if s not in seen)
        return seen

    def forbidden_traits(self) -> list[str]:
        traits = set(self.root_forbidden)
        for group in self.groups:
            traits |= group.forbidden
        return sorted(traits)


def _merge_any_of(
    old: tuple[frozenset[str], ...], new: Iterable[frozenset[str]]
) -> tuple[frozenset[str], ...]:
    merged = list(old)
    merged.extend(s for s in new if s not in merged)
    return tuple(merged)


def to_candidate_query(
    constraints: Constraints, limit: int | None, start: float = 0.0
) -> CandidateQuery:
    """Placement's query for ``constraints``, asking for at most ``limit`` candidates
    beginning at fraction ``start`` of the fitting trees (see ``CandidateQuery.start``)."""
    from virtfleet.placement.types import CandidateQuery, RequestGroup

    # Aggregates go on the unsuffixed group, where the root's aggregates span its tree.
    member_of = tuple(r.member_of for r in constraints.aggregates if r.member_of)
    forbidden = frozenset().union(*(r.forbidden for r in constraints.aggregates))
    groups = [
        RequestGroup(
            suffix=g.suffix,
            resources=dict(g.resources),
            required=g.required,
            forbidden=g.forbidden,
            in_tree=constraints.in_tree,
            member_of=member_of if g.suffix == UNNAMED else (),
            forbidden_aggregates=forbidden if g.suffix == UNNAMED else frozenset(),
        )
        for g in constraints.groups
        if g.resources
    ]
    return CandidateQuery(
        groups=groups,
        root_required=constraints.root_required,
        root_forbidden=constraints.root_forbidden,
        group_policy=constraints.group_policy,
        same_subtree=constraints.same_subtree,
        limit=limit,
        start=start,
    )
