"""The unified-limit resources one server of a flavor uses (Nova's names)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from virtfleet import errors
from virtfleet.scheduler.resource_request import FlavorSpec, flavor_constraints

SERVERS = "servers"
VCPU = "class:VCPU"
MEMORY_MB = "class:MEMORY_MB"
DISK_GB = "class:DISK_GB"
#: Key pairs of one user (Nova's name; only the registered limit applies, as Nova's).
KEY_PAIRS = "server_key_pairs"
#: The resources every report lists (others only when a limit names them).
REPORTED = (SERVERS, VCPU, MEMORY_MB, DISK_GB)


def flavor_spec(flavor: Mapping[str, Any]) -> FlavorSpec:
    """The scheduler's view of a flavor snapshot (what a server keeps)."""
    return FlavorSpec(
        vcpus=int(flavor.get("vcpus", 0)),
        memory_mb=int(flavor.get("memory_mb", 0)),
        root_gb=int(flavor.get("root_gb", 0)),
        ephemeral_gb=int(flavor.get("ephemeral_gb", 0)),
        swap=int(flavor.get("swap", 0) or 0),
        extra_specs=dict(flavor.get("extra_specs") or {}),
    )


def server_resources(flavor: Mapping[str, Any]) -> dict[str, int]:
    """``class:<RC>`` -> amount that one server of ``flavor`` asks placement for (the
    flavor's vCPUs, RAM and disk, and ``resources[N]:<RC>`` extra specs)."""
    spec = flavor_spec(flavor)
    try:
        groups = flavor_constraints(spec).groups
    except errors.InvalidInput:  # a snapshot from before a check: count its basics
        return {VCPU: spec.vcpus, MEMORY_MB: spec.memory_mb, DISK_GB: spec.disk_gb}
    found: dict[str, int] = {}
    for group in groups:
        for resource_class, amount in group.resources.items():
            name = f"class:{resource_class}"
            found[name] = found.get(name, 0) + int(amount)
    return found


def boot_deltas(flavor: Mapping[str, Any], count: int = 1) -> dict[str, int]:
    """What ``count`` new servers of ``flavor`` add: ``servers`` and each class."""
    deltas = {SERVERS: count}
    for name, amount in server_resources(flavor).items():
        deltas[name] = amount * count
    return deltas


def upsize_deltas(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, int]:
    """What a resize from flavor ``old`` to ``new`` adds: each class the new flavor
    asks more of, by how much (empty when it asks for no more of anything)."""
    before, after = server_resources(old), server_resources(new)
    grown = {name: amount - before.get(name, 0) for name, amount in after.items()}
    return {name: delta for name, delta in grown.items() if delta > 0}
