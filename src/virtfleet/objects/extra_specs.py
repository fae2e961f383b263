"""Flavor extra specs virtfleet understands: one table of key pattern, parser and
description, read by the Compute API (validation when set) and by the scheduler
(turning a flavor into a placement request).

Keys outside the namespaces in :data:`KNOWN_NAMESPACES` are kept unvalidated; a key
inside one of them must match a row of :data:`EXTRA_SPECS`. Parsers raise
:class:`~virtfleet.errors.InvalidInput` naming the key, the value and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import os_resource_classes
import os_traits

from virtfleet import errors

Parser = Callable[[str, str], object]

MAXPHYSADDR_MODES = ("emulate", "passthrough")
# x86 has at most 52 physical address bits; QEMU refuses phys-bits below 32 for 64-bit
# x86 CPUs ("phys-bits should be between 32 and 52") and does not let 32-bit CPUs set
# them at all: only x86_64 guests qualify.
QEMU_MIN_PHYS_BITS = 32
MAXPHYSADDR_BITS_RANGE = (QEMU_MIN_PHYS_BITS, 52)
MAXPHYSADDR_GUEST_ARCHES = ("x86_64",)
CPU_POLICIES = ("shared", "dedicated", "mixed")
MEM_PAGE_SIZES = ("small", "large", "any")
TRAIT_VALUES = ("required", "forbidden")
GROUP_POLICIES = ("none", "isolate")
MAX_RESOURCE_AMOUNT = 2**31 - 1  # placement refuses larger amounts and totals

# Request group suffixes (resourcesN:, traitN:), as placement accepts them.
GROUP_SUFFIX = r"[A-Za-z0-9_-]{0,64}"

# The 32-bit PCI hole below 4 GiB pushes the top of guest RAM up by up to this much.
PCI_HOLE_BYTES = 1 << 30


def _invalid(key: str, value: str, allowed: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Invalid extra spec {key}={value!r}: {allowed}.")


def choose(key: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else InvalidInput."""
    if value not in choices:
        raise _invalid(key, value, f"expected one of {', '.join(choices)}")
    return value


def to_int(key: str, value: str, minimum: int, maximum: int | None = None) -> int:
    """``value`` as a decimal integer in ``minimum..maximum``, else InvalidInput."""
    allowed = (
        f"expected an integer >= {minimum}"
        if maximum is None
        else f"expected an integer from {minimum} to {maximum}"
    )
    if not re.fullmatch(r"\s*[+-]?\d+\s*", value):
        raise _invalid(key, value, allowed)
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        raise _invalid(key, value, allowed)
    return number


def parse_choice(choices: tuple[str, ...]) -> Parser:
    """A parser accepting exactly one of ``choices``."""
    return lambda key, value: choose(key, value, choices)


def parse_int(minimum: int, maximum: int | None = None) -> Parser:
    """A parser accepting a decimal integer in ``minimum..maximum``."""
    return lambda key, value: to_int(key, value, minimum, maximum)


def parse_resource_amount(key: str, value: str) -> int:
    """``resources[N]:<RESOURCE_CLASS>`` = integer 0..2**31-1 (placement's bound for
    amounts); the class must be valid."""
    resource_class = key.split(":", 1)[1]
    if resource_class not in os_resource_classes.STANDARDS and not re.fullmatch(
        r"CUSTOM_[A-Z0-9_]+", resource_class
    ):
        raise _invalid(
            key,
            value,
            f"{resource_class!r} is not a resource class (standard classes such as VCPU, "
            "MEMORY_MB, DISK_GB, or CUSTOM_ followed by A-Z, 0-9 and _)",
        )
    return to_int(key, value, 0, MAX_RESOURCE_AMOUNT)


def parse_trait(key: str, value: str) -> str:
    """``trait[N]:<TRAIT>`` = required | forbidden; the trait must be known or CUSTOM_."""
    trait = key.split(":", 1)[1]
    if not re.fullmatch(r"CUSTOM_[A-Z0-9_]+", trait) and trait not in _standard_traits():
        raise _invalid(
            key,
            value,
            f"{trait!r} is not a standard trait (os-traits) nor CUSTOM_ followed by A-Z, 0-9 and _",
        )
    return choose(key, value, TRAIT_VALUES)


def parse_mem_page_size(key: str, value: str) -> str:
    """small | large | any | a size such as 2048, 2MB, 1GB (KiB when unitless)."""
    if value in MEM_PAGE_SIZES or re.fullmatch(r"[1-9]\d*(?:[KMG]i?B?)?", value, re.I):
        return value
    raise _invalid(key, value, "expected small, large, any, or a page size such as 2MB")


def parse_same_subtree(key: str, value: str) -> tuple[str, ...]:
    """Two or more comma-separated group suffixes (that the groups exist is checked
    with the whole flavor by the scheduler's request builder)."""
    suffixes = tuple(part.strip() for part in value.split(","))
    if len(suffixes) < 2 or not all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", s) for s in suffixes):
        raise _invalid(key, value, "expected two or more comma-separated request group suffixes")
    return suffixes


@dataclass(frozen=True)
class ExtraSpec:
    """One known key: a full-match regex, its parser and what it means."""

    pattern: str
    parse: Parser
    description: str

    def matches(self, key: str) -> bool:
        return re.fullmatch(self.pattern, key) is not None


EXTRA_SPECS: tuple[ExtraSpec, ...] = (
    ExtraSpec(
        rf"resources{GROUP_SUFFIX}:[^:]+",
        parse_resource_amount,
        "Amount of a resource class to request; resourcesN: puts it in request group N.",
    ),
    ExtraSpec(
        rf"trait{GROUP_SUFFIX}:[^:]+",
        parse_trait,
        "Require (required) or exclude (forbidden) hosts with a trait; traitN: for group N.",
    ),
    ExtraSpec(
        r"same_subtree",
        parse_same_subtree,
        "Comma-separated request group suffixes whose providers must share a subtree.",
    ),
    ExtraSpec(
        r"group_policy",
        parse_choice(GROUP_POLICIES),
        "Whether numbered request groups may share a provider (none) or not (isolate).",
    ),
    ExtraSpec(
        r"hw:cpu_policy",
        parse_choice(CPU_POLICIES),
        "Pin guest vCPUs to host CPUs (dedicated), float them (shared), or both (mixed).",
    ),
    ExtraSpec(
        r"hw:mem_page_size",
        parse_mem_page_size,
        "Guest memory page size: small, large, any, or an explicit size.",
    ),
    ExtraSpec(
        r"hw:maxphysaddr_mode",
        parse_choice(MAXPHYSADDR_MODES),
        "Guest physical address bits: emulate (set by hw:maxphysaddr_bits) or passthrough "
        "(the host's bits; needs host-passthrough CPUs).",
    ),
    ExtraSpec(
        r"hw:maxphysaddr_bits",
        parse_int(*MAXPHYSADDR_BITS_RANGE),
        "Guest physical address bits for hw:maxphysaddr_mode=emulate (32..52: x86 has at "
        "most 52, QEMU sets no fewer than 32).",
    ),
)

# Namespaces whose keys must all be known; anything else is kept as given.
KNOWN_NAMESPACES: tuple[str, ...] = (
    rf"resources{GROUP_SUFFIX}:",
    rf"trait{GROUP_SUFFIX}:",
    r"hw:",
    r"group_policy$",
    r"same_subtree$",
)


def find_extra_spec(key: str) -> ExtraSpec | None:
    """The table row for ``key``, or None."""
    return next((spec for spec in EXTRA_SPECS if spec.matches(key)), None)


def parse_extra_spec(key: str, value: str) -> object:
    """Validate one key/value pair: the parsed value for known keys, the raw value for
    keys outside the known namespaces; InvalidInput otherwise."""
    spec = find_extra_spec(key)
    if spec is not None:
        return spec.parse(key, value)
    if any(re.match(namespace, key) for namespace in KNOWN_NAMESPACES):
        known = ", ".join(
            s.pattern.replace(GROUP_SUFFIX, "N").replace("[^:]+", "<NAME>") for s in EXTRA_SPECS
        )
        raise errors.InvalidInput(
            f"Unknown extra spec {key!r}: in this namespace virtfleet knows {known}."
        )
    return value


def bits_needed_for_ram(ram_mb: int) -> int:
    """Guest physical address bits needed to address ``ram_mb`` MiB of RAM, counting
    the 1 GiB PCI hole that pushes RAM above 4 GiB on x86."""
    top = ram_mb * (1 << 20) + PCI_HOLE_BYTES
    return max(1, (top - 1).bit_length())


def check_maxphysaddr(mode: str | None, bits: int | None, ram_mb: int | None, where: str) -> None:
    """Cross-check mode and bits (``where`` names the keys' owner in messages)."""
    if bits is not None and mode is None:
        raise errors.InvalidInput(
            f"{where}: maxphysaddr bits={bits} needs maxphysaddr mode=emulate."
        )
    if mode == "emulate" and bits is None:
        raise errors.InvalidInput(
            f"{where}: maxphysaddr mode=emulate requires maxphysaddr bits "
            f"({QEMU_MIN_PHYS_BITS}..{MAXPHYSADDR_BITS_RANGE[1]})."
        )
    if mode == "passthrough" and bits is not None:
        raise errors.InvalidInput(
            f"{where}: maxphysaddr mode=passthrough takes the host's bits; "
            f"maxphysaddr bits={bits} is not allowed with it."
        )
    if bits is not None and ram_mb is not None and bits_needed_for_ram(ram_mb) > bits:
        raise errors.InvalidInput(
            f"{where}: {ram_mb} MiB of RAM needs at least {bits_needed_for_ram(ram_mb)} "
            f"physical address bits, but maxphysaddr bits={bits}."
        )


def check_maxphysaddr_arch(mode: str | None, guest_arch: str | None, where: str) -> None:
    """Only x86_64 guests take maxphysaddr (``guest_arch`` None: the host's own, which
    the scheduler's traits decide)."""
    if mode is not None and guest_arch is not None and guest_arch not in MAXPHYSADDR_GUEST_ARCHES:
        raise errors.InvalidInput(
            f"{where}: maxphysaddr mode={mode} is only supported for x86_64 guests, "
            f"not {guest_arch}."
        )


def validate_extra_specs(specs: Mapping[str, str], ram_mb: int | None = None) -> dict[str, object]:
    """Validate a flavor's complete extra specs (each key, then the cross-checks) and
    return the parsed values of the known keys."""
    parsed: dict[str, object] = {}
    for key, value in specs.items():
        if not isinstance(value, str):
            raise errors.InvalidInput(
                f"Invalid extra spec {key}={value!r}: values must be strings."
            )
        result = parse_extra_spec(key, value)
        if find_extra_spec(key) is not None:
            parsed[key] = result
    mode = parsed.get("hw:maxphysaddr_mode")
    bits = parsed.get("hw:maxphysaddr_bits")
    check_maxphysaddr(
        mode if isinstance(mode, str) else None,
        bits if isinstance(bits, int) else None,
        ram_mb,
        "flavor extra specs hw:maxphysaddr_mode/hw:maxphysaddr_bits",
    )
    return parsed


_TRAITS_CACHE: set[str] = set()


def _standard_traits() -> set[str]:
    if not _TRAITS_CACHE:
        _TRAITS_CACHE.update(os_traits.get_traits())
    return _TRAITS_CACHE


__all__ = [
    "CPU_POLICIES",
    "EXTRA_SPECS",
    "GROUP_POLICIES",
    "GROUP_SUFFIX",
    "KNOWN_NAMESPACES",
    "MAXPHYSADDR_BITS_RANGE",
    "MAXPHYSADDR_GUEST_ARCHES",
    "MAXPHYSADDR_MODES",
    "MEM_PAGE_SIZES",
    "QEMU_MIN_PHYS_BITS",
    "TRAIT_VALUES",
    "ExtraSpec",
    "bits_needed_for_ram",
    "check_maxphysaddr",
    "check_maxphysaddr_arch",
    "choose",
    "find_extra_spec",
    "parse_extra_spec",
    "parse_mem_page_size",
    "parse_resource_amount",
    "parse_same_subtree",
    "parse_trait",
    "to_int",
    "validate_extra_specs",
]
