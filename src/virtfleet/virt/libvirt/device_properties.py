"""Typed reads of the image's device properties (disk bus, video and RNG models),
each validated with an error that names the key, the value and what is allowed, and
the RAM a physical address width can reach. The guest facts (arch, machine type,
firmware, maxphysaddr) come resolved in ``GuestSpec.guest``.
"""

from __future__ import annotations

from virtfleet import errors
from virtfleet.virt.types import GuestSpec

MiB = 1024**2
GiB = 1024**3
X86_LOW_RAM_LIMIT = 2 * GiB  # above this, guest RAM is split around the 32-bit PCI hole


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


def bits_needed_for_ram(memory_mb: int) -> int:
    """Physical address bits an x86 guest needs to address ``memory_mb`` of RAM.

    RAM above 2 GiB is mapped above the 4 GiB boundary (the 32-bit PCI hole sits in
    between), so the highest RAM address is RAM + 2 GiB for large guests.
    """
    ram = memory_mb * MiB
    top = ram + X86_LOW_RAM_LIMIT if ram > X86_LOW_RAM_LIMIT else ram
    return max(1, (top - 1).bit_length())
