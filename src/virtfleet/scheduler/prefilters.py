"""Prefilters: turn what the image and flavor imply into required traits, so placement
narrows the hosts before any filter runs.

A prefilter never drops a constraint silently: a property value without a matching
os-traits trait is an :class:`~virtfleet.errors.InvalidInput` (HTTP 400 at boot).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Protocol

import os_traits
from oslo_config import cfg

from virtfleet import errors
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.guest_resolution import EMULATION_ARCH_PROPERTY, NATIVE_ARCH_PROPERTY
from virtfleet.placement.types import CandidateQuery
from virtfleet.scheduler.constraints import Constraints, to_candidate_query
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

    def apply(self, spec: RequestSpec, constraints: Constraints) -> Constraints:
        """``constraints`` with this prefilter's additions; InvalidInput on bad input."""
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

    def apply(self, spec: RequestSpec, constraints: Constraints) -> Constraints:
        traits = arch_traits(spec.guest) + [
            trait_for_property(prop, value)
            for prop in IMAGE_PROPERTY_TRAIT_PREFIXES
            if (value := spec.image_property(prop)) is not None
        ]
        return constraints.require_on_root(*traits) if traits else constraints


class MaxPhysAddrPrefilter:
    """The guest's maxphysaddr mode -> COMPUTE_ADDRESS_SPACE_* on the root."""

    name = "maxphysaddr"

    def apply(self, spec: RequestSpec, constraints: Constraints) -> Constraints:
        wanted = spec.guest.maxphysaddr
        if wanted is None:
            return constraints
        return constraints.require_on_root(MAXPHYSADDR_TRAITS[wanted.mode])


#: Every prefilter by name, in the order they run.
PREFILTERS: dict[str, Prefilter] = {
    ImageMetadataPrefilter.name: ImageMetadataPrefilter(),
    MaxPhysAddrPrefilter.name: MaxPhysAddrPrefilter(),
}

#: Prefilters an operator may switch off, and the [scheduler] option that does.
OPTIONAL: dict[str, str] = {ImageMetadataPrefilter.name: "image_metadata_prefilter"}


def enabled(conf: cfg.ConfigOpts) -> list[Prefilter]:
    """The prefilters to run, in registry order."""
    return [
        prefilter
        for name, prefilter in PREFILTERS.items()
        if name not in OPTIONAL or getattr(conf.scheduler, OPTIONAL[name])
    ]


def request_constraints(spec: RequestSpec, conf: cfg.ConfigOpts) -> Constraints:
    """The flavor's constraints narrowed by every enabled prefilter."""
    constraints = flavor_constraints(spec.flavor)
    for prefilter in enabled(conf):
        constraints = prefilter.apply(spec, constraints)
    return constraints


def build_query(spec: RequestSpec, conf: cfg.ConfigOpts) -> CandidateQuery:
    """Placement's allocation-candidate query for ``spec``."""
    return to_candidate_query(request_constraints(spec, conf), conf.scheduler.max_placement_results)
