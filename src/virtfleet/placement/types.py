"""Plain value types of the placement engine (frozen dataclasses).

These are what :class:`~virtfleet.placement.service.PlacementService` takes and
returns; the HTTP layer turns them into the Placement API's JSON.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, overload

GROUP_POLICIES = ("none", "isolate")

T = TypeVar("T")
V = TypeVar("V")


class computed_once(Generic[T, V]):  # noqa: N801  # used like functools.cached_property
    """Like :func:`functools.cached_property` without its per-access lock: the value
    is computed on first read and then found in the instance ``__dict__`` (a racing
    thread may compute an equal value twice; both are correct)."""

    def __init__(self, func: Callable[[T], V]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> computed_once[T, V]: ...

    @overload
    def __get__(self, obj: T, owner: type | None = None) -> V: ...

    def __get__(self, obj: T | None, owner: type | None = None) -> V | computed_once[T, V]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


@dataclass(frozen=True)
class Provider:
    """A resource provider; ``root_uuid`` is its own uuid for a root."""

    uuid: str
    name: str
    generation: int
    parent_uuid: str | None
    root_uuid: str


@dataclass(frozen=True)
class Inventory:
    """One resource class of a provider. ``max_unit`` 0 means "total"."""

    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = 0
    step_size: int = 1
    allocation_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.max_unit == 0:
            object.__setattr__(self, "max_unit", self.total)

    @property
    def capacity(self) -> int:
        """What may be allocated in all: ``(total - reserved) * allocation_ratio``."""
        return int((self.total - self.reserved) * self.allocation_ratio)

    def as_dict(self) -> dict[str, int | float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RequestGroup:
    """One request group; ``suffix`` "" is the unsuffixed group.

    ``required`` is an AND of any-of sets (a plain trait is a singleton set);
    ``member_of`` likewise for aggregate uuids. A suffixed group is satisfied by
    one provider; the unsuffixed group by any providers of one tree (each resource
    class from a single provider).
    """

    suffix: str
    resources: Mapping[str, int] = field(default_factory=dict)
    required: Sequence[frozenset[str]] = ()
    forbidden: frozenset[str] = frozenset()
    member_of: Sequence[frozenset[str]] = ()
    forbidden_aggregates: frozenset[str] = frozenset()
    in_tree: str | None = None


@dataclass(frozen=True)
class CandidateQuery:
    """A whole ``GET /allocation_candidates`` request."""

    groups: Sequence[RequestGroup]
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    group_policy: str | None = None
    same_subtree: Sequence[frozenset[str]] = ()
    limit: int | None = None
    #: Where in root id order the trees' turns begin, as a fraction 0 <= start < 1
    #: of the trees that could match (wrapping around): the scheduler passes a random
    #: value so that a limited answer samples the whole fleet, not its oldest hosts.
    start: float = 0.0


Allocations = dict[str, Mapping[str, int]]
Mappings = dict[str, list[str]]


class Renamable(Protocol):
    """A candidate written for any tree of one state (see :mod:`.memo`)."""

    @property
    def json_format(self) -> str | None:
        """Its JSON as a ``str.format`` template over the tree's uuids, if it has one."""
        ...

    def renamed(self, names: Sequence[str]) -> tuple[Allocations, Mappings]:
        """Its allocations and mappings in the tree whose uuids are ``names``."""
        ...


@dataclass(frozen=True)
class AllocationRequest:
    """One candidate: ``allocations`` {rp_uuid: {rc: amount}} and ``mappings``
    {suffix: [rp_uuid, ...]} (which providers satisfied which group)."""

    allocations: Mapping[str, Mapping[str, int]]
    mappings: Mapping[str, Sequence[str]]

    @classmethod
    def renamed_from(cls, template: Renamable, names: Sequence[str]) -> AllocationRequest:
        """``template`` in the tree whose uuids are ``names``; its allocations,
        mappings and JSON are made when first read (an HTTP answer only needs
        the JSON, which is the template's with the names filled in)."""
        request: AllocationRequest = object.__new__(cls)
        request.__dict__["_renamed"] = (template, names)
        return request

    def __getattr__(self, name: str) -> Mapping[str, Any]:
        """``allocations`` and ``mappings`` of a request made by :meth:`renamed_from`."""
        lazy: tuple[Renamable, Sequence[str]] | None = self.__dict__.get("_renamed")
        if lazy is None or name not in ("allocations", "mappings"):
            raise AttributeError(name)
        allocations, mappings = lazy[0].renamed(lazy[1])
        self.__dict__["allocations"] = allocations
        self.__dict__["mappings"] = mappings
        return allocations if name == "allocations" else mappings

    @computed_once
    def json(self) -> bytes:
        """This candidate as Placement API JSON (microversion 1.34+), computed once.

        Names in it (provider uuids, classes, suffixes) are validated identifiers
        that JSON needs no escapes for.
        """
        lazy: tuple[Renamable, Sequence[str]] | None = self.__dict__.get("_renamed")
        if lazy is not None and lazy[0].json_format is not None:
            return lazy[0].json_format.format(*lazy[1]).encode()
        mappings = ", ".join(
            [
                f'"{suffix}": ["{rps[0]}"]'
                if len(rps) == 1
                else f'"{suffix}": [{", ".join(_quoted(rp) for rp in rps)}]'
                for suffix, rps in self.mappings.items()
            ]
        )
        allocations = _allocations_json(self.allocations)
        return f'{{"allocations": {allocations}, "mappings": {{{mappings}}}}}'.encode()


def _quoted(name: str) -> str:
    return f'"{name}"'


_ALLOCATIONS_JSON: dict[int, tuple[object, str]] = {}  # id -> (the mapping, its JSON)
_ALLOCATIONS_KEPT = 4096


def _allocations_json(allocations: Mapping[str, Mapping[str, int]]) -> str:
    """``{rp: {"resources": {rc: n}}}`` as JSON, remembered for the latest few
    thousand mappings (the permutations of one assignment share theirs)."""
    known = _ALLOCATIONS_JSON.get(id(allocations))
    if known is not None and known[0] is allocations:
        return known[1]
    text = (
        "{"
        + ", ".join(
            f'"{rp}": {{"resources": {{'
            + ", ".join(f'"{rc}": {amount}' for rc, amount in sorted(resources.items()))
            + "}}"
            for rp, resources in sorted(allocations.items())
        )
        + "}"
    )
    if len(_ALLOCATIONS_JSON) >= _ALLOCATIONS_KEPT:
        _ALLOCATIONS_JSON.clear()
    _ALLOCATIONS_JSON[id(allocations)] = (allocations, text)
    return text


@dataclass(frozen=True)
class ResourceUsage:
    capacity: int
    used: int


@dataclass(frozen=True)
class ProviderSummary:
    """A provider in the tree of a candidate: every inventory, traits, tree links."""

    uuid: str
    resources: Mapping[str, ResourceUsage]
    traits: frozenset[str]
    parent_provider_uuid: str | None
    root_provider_uuid: str

    @computed_once
    def json_entry(self) -> bytes:
        """``"<uuid>": <summary>`` as Placement API JSON (microversion 1.29+: every
        class, traits, tree uuids), computed once: a summary is shared by every
        answer until its tree changes."""
        resources = ", ".join(
            f'"{rc}": {{"capacity": {usage.capacity}, "used": {usage.used}}}'
            for rc, usage in sorted(self.resources.items())
        )
        traits = ", ".join(f'"{trait}"' for trait in sorted(self.traits))
        parent = "null" if self.parent_provider_uuid is None else f'"{self.parent_provider_uuid}"'
        return (
            f'"{self.uuid}": {{"resources": {{{resources}}}, "traits": [{traits}], '
            f'"parent_provider_uuid": {parent}, "root_provider_uuid": "{self.root_provider_uuid}"}}'
        ).encode()


class SummarySource(Protocol):
    """The providers of one tree: their summaries, and those as JSON entries."""

    @property
    def summaries(self) -> Mapping[str, ProviderSummary]: ...

    def summaries_json(self) -> bytes:
        """``"<uuid>": <summary>, ...`` of every provider (as ``json_entry``)."""
        ...


@dataclass(frozen=True)
class CandidatesResult:
    """Candidates and the trees they are in (whose every provider is summarised).

    ``provider_summaries`` is assembled from the trees when first read; the HTTP
    layer renders the trees' JSON instead (each tree keeps it until it changes).
    """

    allocation_requests: list[AllocationRequest]
    summary_sources: Sequence[SummarySource] = ()

    @functools.cached_property
    def provider_summaries(self) -> dict[str, ProviderSummary]:
        summaries: dict[str, ProviderSummary] = {}
        for source in self.summary_sources:
            summaries.update(source.summaries)
        return summaries


@dataclass(frozen=True)
class ProviderAllocation:
    """A consumer's allocation on one provider, with that provider's generation."""

    resources: Mapping[str, int]
    generation: int


@dataclass(frozen=True)
class ConsumerAllocations:
    """``GET /allocations/{consumer}``; a consumer without allocations has no
    project/user and ``consumer_generation`` None."""

    consumer_uuid: str
    allocations: Mapping[str, ProviderAllocation]
    project_id: str | None
    user_id: str | None
    consumer_generation: int | None
    consumer_type: str | None


@dataclass(frozen=True)
class ConsumerOnProvider:
    resources: Mapping[str, int]
    consumer_generation: int


@dataclass(frozen=True)
class ProviderAllocations:
    """``GET /resource_providers/{uuid}/allocations``."""

    generation: int
    consumers: Mapping[str, ConsumerOnProvider]


@dataclass(frozen=True)
class ConsumerRequest:
    """The new allocations of one consumer for ``replace_allocations``/``replace_many``.

    Empty ``allocations`` deletes the consumer's allocations. ``consumer_generation``
    is None for a consumer expected to be new.
    """

    allocations: Mapping[str, Mapping[str, int]]
    project_id: str
    user_id: str
    consumer_generation: int | None
    consumer_type: str | None = None


@dataclass(frozen=True)
class TypeUsage:
    """Usage of one consumer type (``GET /usages`` 1.38+)."""

    consumer_count: int
    resources: Mapping[str, int]
