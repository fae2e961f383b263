"""Prefilters: turn what the image and flavor imply into required traits, so placement
narrows the hosts before any filter runs.

A prefilter never drops a constraint silently: a property value without a matching
os-traits trait is an :class:`~virtfleet.errors.InvalidInput` (HTTP 400 at boot).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Protocol

import os_traits
from oslo_config import cfg

from virtfleet import errors
from virtfleet.db.aggregates import Aggregate
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.guest_resolution import EMULATION_ARCH_PROPERTY, NATIVE_ARCH_PROPERTY
from virtfleet.placement.types import CandidateQuery
from virtfleet.scheduler.aggregates import DEFAULT_ZONE
from virtfleet.scheduler.constraints import AggregateRule, Constraints, to_candidate_query
from virtfleet.scheduler.resource_request import RequestSpec, flavor_constraints
from virtfleet.virt import arch as virt_arch

#: Image property -> prefix of the trait its (upper-cased) value names. The guest
#: architecture's traits come from the resolved guest request (:data:`ARCH_TRAITS`).
IMAGE_PROPERTY_TRAIT_PREFIXES: dict[str, str] = {
    "hw_disk_bus": "COMPUTE_STORAGE_BUS_",
    "hw_cdrom_bus": "COMPUTE_STORAGE_BUS_",
    "hw_video_model": "COMPUTE_GRAPHICS_MODEL_",
    "hw_vif_model": "COMPUTE_NET_VIF_MODEL_",
}


@dataclasses.dataclass(frozen=True)
class ArchTrait:
    """How one arch of the guest request becomes a trait: the image property it came
    from (for messages), the trait prefix and the arch table's trait for a name."""

    prop: str
    prefix: str
    trait: Callable[[str], str | None]


#: Native arch (``hw_architecture``) -> HW_ARCH_*; emulated arch -> COMPUTE_ARCH_*.
NATIVE_ARCH_TRAIT = ArchTrait(NATIVE_ARCH_PROPERTY, "HW_ARCH_", virt_arch.hw_arch_trait)
EMULATED_ARCH_TRAIT = ArchTrait(
    EMULATION_ARCH_PROPERTY, "COMPUTE_ARCH_", virt_arch.compute_arch_trait
)

#: maxphysaddr mode -> the trait a host reports when it supports the mode.
MAXPHYSADDR_TRAITS: dict[str, str] = {
    "emulate": "COMPUTE_ADDRESS_SPACE_EMULATED",
    "passthrough": "COMPUTE_ADDRESS_SPACE_PASSTHROUGH",
}


class Prefilter(Protocol):
    """Narrows a request before placement is asked."""

    name: str

    def apply(
        self, spec: RequestSpec, constraints: Constraints, aggregates: Sequence[Aggregate]
    ) -> Constraints:
        """``constraints`` with this prefilter's additions (``aggregates``: the host
        aggregates as they are now); InvalidInput on bad input."""
        ...


@functools.cache
def _standard_traits() -> frozenset[str]:
    return frozenset(os_traits.get_traits())


def _unknown_trait(prop: str, value: str, trait: str, valid: list[str]) -> errors.InvalidInput:
    return errors.InvalidInput(
        f"Invalid image property {prop}={value!r}: no host can report it (os-traits has "
        f"no trait {trait}); values with a trait: {', '.join(sorted(valid))}."
    )


def trait_for_property(prop: str, value: str) -> str:
    """The trait a device image property value requires; InvalidInput when none exists."""
    prefix = IMAGE_PROPERTY_TRAIT_PREFIXES[prop]
    trait = prefix + value.upper().replace("-", "_")
    if trait not in _standard_traits():
        valid = [t.removeprefix(prefix).lower() for t in _standard_traits() if t.startswith(prefix)]
        raise _unknown_trait(prop, value, trait, valid)
    return trait


def trait_for_arch(kind: ArchTrait, arch: str) -> str:
    """The trait a (canonical) guest request arch requires; InvalidInput when none
    exists."""
    trait = kind.trait(arch) or kind.prefix + arch.upper()
    if trait not in _standard_traits():
        valid = [name for name in virt_arch.ARCHES if kind.trait(name)]
        raise _unknown_trait(kind.prop, arch, trait, valid)
    return trait


def arch_traits(guest: GuestRequest) -> list[str]:
    """The traits the guest request's architectures require, native first."""
    traits = []
    if guest.native_arch is not None:
        traits.append(trait_for_arch(NATIVE_ARCH_TRAIT, guest.native_arch))
    if guest.emulated and guest.arch is not None:
        traits.append(trait_for_arch(EMULATED_ARCH_TRAIT, guest.arch))
    return traits


class ImageMetadataPrefilter:
    """The guest's architectures and the image's device properties -> required traits
    on the host's root provider."""

    name = "image_metadata"

    def apply(
        self, spec: RequestSpec, constraints: Constraints, aggregates: Sequence[Aggregate]
    ) -> Constraints:
        traits = arch_traits(spec.guest) + [
            trait_for_property(prop, value)
            for prop in IMAGE_PROPERTY_TRAIT_PREFIXES
            if (value := spec.image_property(prop)) is not None
        ]
        return constraints.require_on_root(*traits) if traits else constraints


class MaxPhysAddrPrefilter:
    """The guest's maxphysaddr mode -> COMPUTE_ADDRESS_SPACE_* on the root."""

    name = "maxphysaddr"

    def apply(
        self, spec: RequestSpec, constraints: Constraints, aggregates: Sequence[Aggregate]
    ) -> Constraints:
        wanted = spec.guest.maxphysaddr
        if wanted is None:
            return constraints
        return constraints.require_on_root(MAXPHYSADDR_TRAITS[wanted.mode])


def _hosts(aggregates: Sequence[Aggregate]) -> frozenset[str]:
    return frozenset(h for a in aggregates for h in a.hosts)


class AvailabilityZonePrefilter:
    """The boot's availability zone -> ``member_of`` its aggregates (Nova's
    map_az_to_placement_aggregate); the default zone -> no zone aggregate at all."""

    name = "availability_zone"

    def apply(
        self, spec: RequestSpec, constraints: Constraints, aggregates: Sequence[Aggregate]
    ) -> Constraints:
        zone = spec.availability_zone
        if zone is None:
            return constraints
        zoned = [a for a in aggregates if a.availability_zone]
        reason = f"are not in availability zone {zone}"
        if zone == DEFAULT_ZONE:
            outside = frozenset(a.uuid for a in zoned)
            rule = AggregateRule(self.name, reason, _hosts_not_in(zoned), forbidden=outside)
            return constraints.with_aggregate_rule(rule)
        members = [a for a in zoned if a.availability_zone == zone]
        if not members:
            raise errors.InvalidInput(f"Availability zone {zone} does not exist.")
        rule = AggregateRule(
            self.name, reason, _hosts(members), member_of=frozenset(a.uuid for a in members)
        )
        return constraints.with_aggregate_rule(rule)


def _hosts_not_in(aggregates: Sequence[Aggregate]) -> frozenset[str]:
    inside = _hosts(aggregates)
    return _Complement(inside)


class _Complement(frozenset[str]):
    """Every host name except the ones given."""

    def __new__(cls, excluded: frozenset[str]) -> _Complement:
        made = super().__new__(cls)
        made.excluded = excluded
        return made

    excluded: frozenset[str]

    def __contains__(self, name: object) -> bool:
        return name not in self.excluded


#: The metadata keys (and key prefix) that give an aggregate to a project.
TENANT_KEY = "filter_tenant_id"


class TenantAggregatePrefilter:
    """The project's aggregates (metadata ``filter_tenant_id`` or
    ``filter_tenant_id<suffix>`` naming it) -> ``member_of`` one of them (Nova's
    require_tenant_aggregate). A project with none goes anywhere, unless
    ``[scheduler] placement_aggregate_required_for_tenants``."""

    name = "tenant_aggregates"

    def __init__(self, required: Callable[[], bool]) -> None:
        self._required = required

    def apply(
        self, spec: RequestSpec, constraints: Constraints, aggregates: Sequence[Aggregate]
    ) -> Constraints:
        own = [
            a
            for a in aggregates
            if any(k.startswith(TENANT_KEY) and v == spec.project_id for k, v in a.metadata.items())
        ]
        if not own:
            if self._required():
                raise errors.NoValidHost(
                    f"No valid host: project {spec.project_id} has no aggregate "
                    f"({TENANT_KEY}) and [scheduler] placement_aggregate_required_for_tenants "
                    "is set."
                )
            return constraints
        rule = AggregateRule(
            self.name,
            f"are not in an aggregate of project {spec.project_id}",
            _hosts(own),
            member_of=frozenset(a.uuid for a in own),
        )
        return constraints.with_aggregate_rule(rule)


#: An aggregate metadata key ``trait:<T>`` with this value isolates the aggregate.
ISOLATING = "required"


def _requested_traits(spec: RequestSpec, constraints: Constraints) -> frozenset[str]:
    """Traits the flavor or the image (``trait:<T>=required``) require."""
    flavor = {t for any_of in constraints.required_traits() if len(any_of) == 1 for t in any_of}
    image = {
        key.removeprefix("trait:")
        for key, value in spec.image_properties.items()
        if key.startswith("trait:") and str(value) == ISOLATING
    }
    return frozenset(flavor | image)


class IsolatedAggregatePrefilter:
    """An aggregate whose metadata says ``trait:<T>=required`` takes only requests
    that require T (in the flavor or the image): the others are kept out of it
    (Nova's isolate_aggregates, ``[scheduler] enable_isolated_aggregate_filtering``)."""

    name = "isolated_aggregates"

    def apply(
        self, spec: RequestSpec, constraints: Constraints, aggregates: Sequence[Aggregate]
    ) -> Constraints:
        wanted = _requested_traits(spec, constraints)
        barred = [
            a
            for a in aggregates
            if any(
                k.startswith("trait:") and v == ISOLATING and k.removeprefix("trait:") not in wanted
                for k, v in a.metadata.items()
            )
        ]
        if not barred:
            return constraints
        missing = sorted(
            {
                k.removeprefix("trait:")
                for a in barred
                for k, v in a.metadata.items()
                if k.startswith("trait:") and v == ISOLATING
            }
            - wanted
        )
        rule = AggregateRule(
            self.name,
            f"are in aggregates kept for requests requiring {', '.join(missing)}",
            _hosts_not_in(barred),
            forbidden=frozenset(a.uuid for a in barred),
        )
        return constraints.with_aggregate_rule(rule)


def _make_prefilters(conf: cfg.ConfigOpts | None = None) -> dict[str, Prefilter]:
    tenant_required = (
        (lambda: bool(conf.scheduler.placement_aggregate_required_for_tenants))
        if conf is not None
        else (lambda: False)
    )
    return {
        ImageMetadataPrefilter.name: ImageMetadataPrefilter(),
        MaxPhysAddrPrefilter.name: MaxPhysAddrPrefilter(),
        AvailabilityZonePrefilter.name: AvailabilityZonePrefilter(),
        TenantAggregatePrefilter.name: TenantAggregatePrefilter(tenant_required),
        IsolatedAggregatePrefilter.name: IsolatedAggregatePrefilter(),
    }


#: Every prefilter by name, in the order they run.
PREFILTERS: dict[str, Prefilter] = _make_prefilters()

#: Prefilters an operator may switch on or off, and the [scheduler] option that does
#: (Nova's names).
OPTIONAL: dict[str, str] = {
    ImageMetadataPrefilter.name: "image_metadata_prefilter",
    AvailabilityZonePrefilter.name: "query_placement_for_availability_zone",
    TenantAggregatePrefilter.name: "limit_tenants_to_placement_aggregate",
    IsolatedAggregatePrefilter.name: "enable_isolated_aggregate_filtering",
}


def enabled(conf: cfg.ConfigOpts) -> list[Prefilter]:
    """The prefilters to run, in registry order."""
    return [
        prefilter
        for name, prefilter in _make_prefilters(conf).items()
        if name not in OPTIONAL or getattr(conf.scheduler, OPTIONAL[name])
    ]


def request_constraints(
    spec: RequestSpec, conf: cfg.ConfigOpts, aggregates: Sequence[Aggregate] = ()
) -> Constraints:
    """The flavor's constraints narrowed by every enabled prefilter."""
    constraints = flavor_constraints(spec.flavor)
    for prefilter in enabled(conf):
        constraints = prefilter.apply(spec, constraints, aggregates)
    return constraints


def build_query(spec: RequestSpec, conf: cfg.ConfigOpts) -> CandidateQuery:
    """Placement's allocation-candidate query for ``spec``."""
    return to_candidate_query(request_constraints(spec, conf), conf.scheduler.max_placement_results)
