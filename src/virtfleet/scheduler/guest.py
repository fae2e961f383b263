"""Facts about the guest that follow from a request: its architecture, machine type and
physical-address-bits request. Prefilters, filters and weighers all read them here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from virtfleet import errors
from virtfleet.objects import extra_specs as extra_spec_table
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.virt import arch as virt_arch


def canonical_arch(prop: str, value: str) -> str:
    """``value`` as a canonical architecture name; InvalidInput naming ``prop``."""
    try:
        return virt_arch.canonicalize(value)
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(f"Invalid image property {prop}: {exc.message}") from None


def guest_arch(spec: RequestSpec) -> str | None:
    """The guest architecture the image asks for (emulation arch first), or None when
    the image leaves it to the host."""
    for prop in ("hw_emulation_architecture", "hw_architecture"):
        value = spec.image_property(prop)
        if value is not None:
            return canonical_arch(prop, value)
    return None


def default_machine(arch: str) -> str | None:
    """The machine type the driver picks for ``arch`` guests, None for unknown arches."""
    info = virt_arch.ARCHES.get(arch)
    return info.machine if info else None


def host_arch(cpu_info: Mapping[str, Any]) -> str:
    return str(cpu_info.get("arch", ""))


def runs_natively(cpu_info: Mapping[str, Any], arch: str) -> bool:
    """Whether a host with ``cpu_info`` runs ``arch`` guests without emulation."""
    return arch == host_arch(cpu_info) or arch in (cpu_info.get("native_arches") or ())


def can_run(cpu_info: Mapping[str, Any], arch: str) -> bool:
    """Whether a host with ``cpu_info`` runs ``arch`` guests natively or under TCG."""
    return runs_natively(cpu_info, arch) or arch in (cpu_info.get("emulated_arches") or ())


@dataclasses.dataclass(frozen=True)
class MaxPhysAddr:
    """The guest's physical-address-bits request."""

    mode: str  # "emulate" | "passthrough"
    bits: int | None


def maxphysaddr(spec: RequestSpec) -> MaxPhysAddr | None:
    """The request's maxphysaddr mode and bits from the flavor and the image, which may
    not disagree; None when neither asks. InvalidInput names the conflict."""
    flavor_mode = spec.flavor.extra_specs.get("hw:maxphysaddr_mode")
    flavor_bits = spec.flavor.extra_specs.get("hw:maxphysaddr_bits")
    image_mode = spec.image_property("hw_maxphysaddr_mode")
    image_bits = spec.image_property("hw_maxphysaddr_bits")
    mode = _agree("mode", flavor_mode, image_mode)
    bits_text = _agree("bits", flavor_bits, image_bits)
    if mode is not None:
        mode = extra_spec_table.choose(
            "hw:maxphysaddr_mode", mode, extra_spec_table.MAXPHYSADDR_MODES
        )
    bits = (
        None
        if bits_text is None
        else extra_spec_table.to_int(
            "hw:maxphysaddr_bits", bits_text, *extra_spec_table.MAXPHYSADDR_BITS_RANGE
        )
    )
    extra_spec_table.check_maxphysaddr(
        mode, bits, spec.flavor.memory_mb, "flavor and image maxphysaddr settings"
    )
    if mode is None:
        return None
    extra_spec_table.check_maxphysaddr_arch(
        mode, guest_arch(spec), "flavor and image maxphysaddr settings"
    )
    return MaxPhysAddr(mode=mode, bits=bits)


def _agree(what: str, flavor: str | None, image: str | None) -> str | None:
    if flavor is not None and image is not None and flavor.strip() != image.strip():
        raise errors.InvalidInput(
            f"Flavor hw:maxphysaddr_{what}={flavor!r} and image hw_maxphysaddr_{what}="
            f"{image!r} disagree."
        )
    return flavor if flavor is not None else image
