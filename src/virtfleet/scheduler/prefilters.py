"""Prefilters: turn what the image and flavor imply into required traits, so placement
narrows the hosts before any filter runs.

A prefilter never drops a constraint silently: a property value without a matching
os-traits trait is an :class:`~virtfleet.errors.InvalidInput` (HTTP 400 at boot).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

import os_traits
from oslo_config import cfg

from virtfleet import errors
from virtfleet.scheduler import guest
from virtfleet.scheduler.constraints import Constraints
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.virt import arch as virt_arch

#: Image property -> prefix of the trait its (upper-cased) value names.
IMAGE_PROPERTY_TRAIT_PREFIXES: dict[str, str] = {
    "hw_architecture": "HW_ARCH_",
    "hw_emulation_architecture": "COMPUTE_ARCH_",
    "hw_disk_bus": "COMPUTE_STORAGE_BUS_",
    "hw_cdrom_bus": "COMPUTE_STORAGE_BUS_",
    "hw_video_model": "COMPUTE_GRAPHICS_MODEL_",
    "hw_vif_model": "COMPUTE_NET_VIF_MODEL_",
}

_ARCH_PROPERTIES = frozenset({"hw_architecture", "hw_emulation_architecture"})

#: Arch trait prefix -> the arch table's trait for a canonical name (os-traits spelling).
_ARCH_TRAITS: dict[str, Callable[[str], str | None]] = {
    "HW_ARCH_": virt_arch.hw_arch_trait,
    "COMPUTE_ARCH_": virt_arch.compute_arch_trait,
}

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


def trait_for_property(prop: str, value: str) -> str:
    """The trait an image property value requires; InvalidInput when none exists."""
    prefix = IMAGE_PROPERTY_TRAIT_PREFIXES[prop]
    if prop in _ARCH_PROPERTIES:
        arch_trait = _ARCH_TRAITS[prefix]
        arch = guest.canonical_arch(prop, value)
        trait = arch_trait(arch) or prefix + arch.upper()
        valid = [name for name in virt_arch.ARCHES if arch_trait(name)]
    else:
        trait = prefix + value.upper().replace("-", "_")
        valid = [t.removeprefix(prefix).lower() for t in _standard_traits() if t.startswith(prefix)]
    if trait not in _standard_traits():
        raise errors.InvalidInput(
            f"Invalid image property {prop}={value!r}: no host can report it (os-traits has "
            f"no trait {trait}); values with a trait: {', '.join(sorted(valid))}."
        )
    return trait


class ImageMetadataPrefilter:
    """Image properties -> required traits on the host's root provider."""

    name = "image_metadata"

    def apply(self, spec: RequestSpec, constraints: Constraints) -> Constraints:
        traits = [
            trait_for_property(prop, value)
            for prop in IMAGE_PROPERTY_TRAIT_PREFIXES
            if (value := spec.image_property(prop)) is not None
        ]
        return constraints.require_on_root(*traits) if traits else constraints


class MaxPhysAddrPrefilter:
    """maxphysaddr mode (flavor or image) -> COMPUTE_ADDRESS_SPACE_* on the root."""

    name = "maxphysaddr"

    def apply(self, spec: RequestSpec, constraints: Constraints) -> Constraints:
        wanted = guest.maxphysaddr(spec)
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
