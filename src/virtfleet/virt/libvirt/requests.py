"""What a guest asks for: typed reads of flavor extra specs and image properties.

Only the values the builders need are read here, each validated with an error that
names the key, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from virtfleet import errors
from virtfleet.objects.extra_specs import MAXPHYSADDR_BITS_RANGE
from virtfleet.virt.types import GuestSpec

MiB = 1024**2
GiB = 1024**3
MAXPHYSADDR_MODES = ("emulate", "passthrough")
MAXPHYSADDR_BITS = range(MAXPHYSADDR_BITS_RANGE[0], MAXPHYSADDR_BITS_RANGE[1] + 1)
X86_LOW_RAM_LIMIT = 2 * GiB  # above this, guest RAM is split around the 32-bit PCI hole


@dataclass(frozen=True)
class MaxPhysAddrRequest:
    """``hw:maxphysaddr_mode`` / ``hw:maxphysaddr_bits`` (or the image's)."""

    mode: str
    bits: int | None


def image_or_flavor(spec: GuestSpec, image_key: str, flavor_key: str) -> str | None:
    """The value from the image or the flavor; both set and different is an error."""
    image_value = spec.image_properties.get(image_key)
    flavor_value = spec.extra_specs.get(flavor_key)
    if image_value is not None and flavor_value is not None and image_value != flavor_value:
        raise errors.InvalidInput(
            f"flavor {flavor_key}={flavor_value!r} and image {image_key}={image_value!r} disagree"
        )
    return image_value if image_value is not None else flavor_value


def choice(
    spec: GuestSpec, key: str, allowed: tuple[str, ...], guest_arch: str | None = None
) -> str | None:
    """Image property ``key``, which must be one of ``allowed`` (for ``guest_arch``
    guests, when the choices depend on the arch) when set."""
    value = spec.image_properties.get(key)
    if value is not None and value not in allowed:
        problem = (
            f"is not available for {guest_arch} guests; valid:" if guest_arch else "is not one of:"
        )
        raise errors.InvalidInput(f"image property {key}={value!r} {problem} {', '.join(allowed)}")
    return value


def maxphysaddr(spec: GuestSpec) -> MaxPhysAddrRequest | None:
    """The requested guest physical address bits, validated, or None."""
    mode = image_or_flavor(spec, "hw_maxphysaddr_mode", "hw:maxphysaddr_mode")
    raw_bits = image_or_flavor(spec, "hw_maxphysaddr_bits", "hw:maxphysaddr_bits")
    if mode is None:
        if raw_bits is not None:
            raise errors.InvalidInput("hw:maxphysaddr_bits needs hw:maxphysaddr_mode=emulate")
        return None
    if mode not in MAXPHYSADDR_MODES:
        raise errors.InvalidInput(
            f"hw:maxphysaddr_mode={mode!r} is not one of: {', '.join(MAXPHYSADDR_MODES)}"
        )
    if mode == "passthrough":
        if raw_bits is not None:
            raise errors.InvalidInput("hw:maxphysaddr_mode=passthrough does not take bits")
        return MaxPhysAddrRequest(mode, None)
    if raw_bits is None:
        raise errors.InvalidInput("hw:maxphysaddr_mode=emulate needs hw:maxphysaddr_bits")
    try:
        bits = int(raw_bits)
    except ValueError:
        bits = 0
    if bits not in MAXPHYSADDR_BITS:
        raise errors.InvalidInput(
            f"hw:maxphysaddr_bits={raw_bits!r} must be an integer in "
            f"{MAXPHYSADDR_BITS[0]}..{MAXPHYSADDR_BITS[-1]}"
        )
    return MaxPhysAddrRequest(mode, bits)


def bits_needed_for_ram(memory_mb: int) -> int:
    """Physical address bits an x86 guest needs to address ``memory_mb`` of RAM.

    RAM above 2 GiB is mapped above the 4 GiB boundary (the 32-bit PCI hole sits in
    between), so the highest RAM address is RAM + 2 GiB for large guests.
    """
    ram = memory_mb * MiB
    top = ram + X86_LOW_RAM_LIMIT if ram > X86_LOW_RAM_LIMIT else ram
    return max(1, (top - 1).bit_length())
