"""The boot request and the placement query it becomes.

Resources come from the flavor (VCPU, MEMORY_MB, DISK_GB = root + ephemeral +
ceil(swap / 1024)); extra specs refine them:

=========================  ==============================================================
``resources:<RC>=N``       override the flavor's amount of RC (0 removes the class)
``resourcesN:<RC>=N``      resources of granular request group N
``trait:<T>=required``     require (or ``forbidden``: forbid) T in the unnamed group
``traitN:<T>=required``    the same for group N (needs resources in group N)
``group_policy``           ``none`` | ``isolate``; ``none`` when absent
``same_subtree``           comma-separated group suffixes that must share a subtree
=========================  ==============================================================

Values are parsed by the flavor extra-spec table (:mod:`virtfleet.objects.extra_specs`),
so the scheduler and the Compute API accept exactly the same specs.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping

from virtfleet import errors
from virtfleet.objects import extra_specs as extra_spec_table
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.scheduler.constraints import UNNAMED, Constraints, Group
from virtfleet.scheduler.hints import Affinity, SchedulerHints

_RESOURCES = re.compile(r"resources(?P<suffix>[A-Za-z0-9_-]*):(?P<name>[^:]+)")
_TRAIT = re.compile(r"trait(?P<suffix>[A-Za-z0-9_-]*):(?P<name>[^:]+)")


@dataclasses.dataclass(frozen=True)
class FlavorSpec:
    """The parts of a flavor the scheduler reads (swap in MiB, disks in GiB)."""

    vcpus: int
    memory_mb: int
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def disk_gb(self) -> int:
        return self.root_gb + self.ephemeral_gb + math.ceil(self.swap / 1024)


@dataclasses.dataclass(frozen=True)
class RequestSpec:
    """One boot (or move) request: what to place, for whom, and where not to.

    ``guest`` carries the guest facts (arch, machine type, maxphysaddr, ...) as the
    Compute API resolved them; ``image_properties`` are read only for the device
    traits (disk, CD-ROM, video and NIC models). ``hints`` are the boot's scheduler
    hints (kept for every move), resolved by the scheduler into ``affinity`` for one
    pass; ``availability_zone`` is the zone the boot asked for."""

    instance_uuid: str
    project_id: str
    user_id: str
    flavor: FlavorSpec
    image_properties: Mapping[str, object] = dataclasses.field(default_factory=dict)
    guest: GuestRequest = dataclasses.field(default_factory=GuestRequest)
    ignore_hosts: frozenset[str] = frozenset()
    requested_host: str | None = None
    num_instances: int = 1
    hints: SchedulerHints = dataclasses.field(default_factory=SchedulerHints)
    affinity: Affinity | None = None
    availability_zone: str | None = None

    def image_property(self, name: str) -> str | None:
        """An image property as a string, or None when unset or empty."""
        value = self.image_properties.get(name)
        return None if value is None or str(value) == "" else str(value)


def flavor_constraints(flavor: FlavorSpec) -> Constraints:
    """The request groups, traits and group options a flavor asks for."""
    unnamed: dict[str, int] = {
        rc: amount
        for rc, amount in (
            ("VCPU", flavor.vcpus),
            ("MEMORY_MB", flavor.memory_mb),
            ("DISK_GB", flavor.disk_gb),
        )
        if amount > 0
    }
    resources: dict[str, dict[str, int]] = {UNNAMED: unnamed}
    required: dict[str, list[frozenset[str]]] = {}
    forbidden: dict[str, set[str]] = {}
    group_policy: str | None = None
    same_subtree: tuple[frozenset[str], ...] = ()

    for key, value in sorted(flavor.extra_specs.items()):
        if match := _RESOURCES.fullmatch(key):
            amount = int(extra_spec_table.parse_resource_amount(key, value))
            group = resources.setdefault(match["suffix"], {})
            if amount:
                group[match["name"]] = amount
            else:
                group.pop(match["name"], None)
        elif match := _TRAIT.fullmatch(key):
            verdict = extra_spec_table.parse_trait(key, value)
            suffix, trait = match["suffix"], match["name"]
            if verdict == "required":
                required.setdefault(suffix, []).append(frozenset({trait}))
            else:
                forbidden.setdefault(suffix, set()).add(trait)
        elif key == "group_policy":
            group_policy = extra_spec_table.choose(key, value, extra_spec_table.GROUP_POLICIES)
        elif key == "same_subtree":
            same_subtree = (_parse_same_subtree(value, resources),)

    granular = sorted(s for s in resources if s != UNNAMED)
    for suffix in set(required) | set(forbidden):
        if suffix != UNNAMED and not resources.get(suffix):
            raise errors.InvalidInput(
                f"Invalid extra specs: trait{suffix}: is given but resources{suffix}: asks "
                f"for no resources; a request group needs at least one resource."
            )
    groups = tuple(
        Group(
            suffix=suffix,
            resources=resources[suffix],
            required=tuple(required.get(suffix, ())),
            forbidden=frozenset(forbidden.get(suffix, ())),
        )
        for suffix in [UNNAMED, *granular]
        if resources[suffix] or suffix == UNNAMED
    )
    if not any(g.resources for g in groups):
        raise errors.InvalidInput(
            "The flavor asks for no resources: give it vCPUs, RAM or disk, or a "
            "resources:<CLASS>=N extra spec."
        )
    if len(granular) > 1 and group_policy is None:
        group_policy = "none"
    return Constraints(groups=groups, group_policy=group_policy, same_subtree=same_subtree)


def _parse_same_subtree(value: str, resources: Mapping[str, object]) -> frozenset[str]:
    suffixes = frozenset(s.strip() for s in value.split(",") if s.strip())
    unknown = sorted(s for s in suffixes if s == UNNAMED or s not in resources)
    if len(suffixes) < 2 or unknown:
        raise errors.InvalidInput(
            f"Invalid extra spec same_subtree={value!r}: expected two or more comma-separated "
            f"request group suffixes that have resourcesN: specs"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            + "."
        )
    return suffixes


def describe(constraints: Constraints) -> str:
    """A short human summary, e.g. ``8 VCPU, 16384 MB RAM, 20 GB disk, requires X``."""
    units = {"VCPU": "{} VCPU", "MEMORY_MB": "{} MB RAM", "DISK_GB": "{} GB disk"}
    parts = [
        units.get(rc, "{} " + rc).format(amount)
        for rc, amount in constraints.resource_totals().items()
    ]
    required = [" or ".join(sorted(s)) for s in constraints.required_traits()]
    if required:
        parts.append("requires " + ", ".join(required))
    forbidden = constraints.forbidden_traits()
    if forbidden:
        parts.append("forbids " + ", ".join(forbidden))
    return ", ".join(parts)
