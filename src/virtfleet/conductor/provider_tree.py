"""Pure helpers of host reporting: a reported tree -> the providers placement should
have (names, uuids, parents first), and in which order stale ones are removed."""

from __future__ import annotations

import dataclasses
import uuid as uuid_lib
from collections.abc import Iterable, Mapping, Sequence

from virtfleet import errors
from virtfleet.objects.host_report import HostReport, ReportedInventory
from virtfleet.placement.types import Inventory, Provider


@dataclasses.dataclass(frozen=True)
class PlannedProvider:
    """A provider as placement should hold it after the report."""

    name: str
    uuid: str
    parent_uuid: str | None
    inventories: Mapping[str, Inventory]
    traits: frozenset[str]


def child_uuid(root_uuid: str, name: str) -> str:
    """A nested provider's uuid, stable per host and child name."""
    return str(uuid_lib.uuid5(uuid_lib.UUID(root_uuid), name))


def placement_name(host: str, name: str) -> str:
    """Provider names are global in placement: children are prefixed with the host."""
    return name if name == host or name.startswith(f"{host}_") else f"{host}_{name}"


def to_inventory(reported: ReportedInventory) -> Inventory:
    return Inventory(
        total=reported.total,
        reserved=reported.reserved,
        min_unit=reported.min_unit,
        max_unit=reported.max_unit,
        step_size=reported.step_size,
        allocation_ratio=reported.allocation_ratio,
    )


def plan_tree(report: HostReport, root_uuid: str) -> list[PlannedProvider]:
    """The providers of ``report``, every parent before its children.

    Raises InvalidInput naming the problem: no or several roots, duplicate names,
    a parent that is not in the report, or a cycle."""
    host = report.host
    root = report.root
    by_name: dict[str, str | None] = {}
    for provider in report.providers:
        if provider.name in by_name:
            raise errors.InvalidInput(
                f"host report of {host!r}: provider {provider.name!r} appears twice"
            )
        by_name[provider.name] = provider.parent_name
    for name, parent in by_name.items():
        if parent is not None and parent not in by_name:
            raise errors.InvalidInput(
                f"host report of {host!r}: provider {name!r} names unknown parent {parent!r}"
            )
    uuids = {
        p.name: root_uuid if p is root else (p.uuid or child_uuid(root_uuid, p.name))
        for p in report.providers
    }
    planned: list[PlannedProvider] = []
    placed: set[str] = set()
    pending = list(report.providers)
    while pending:
        ready = [p for p in pending if p.parent_name is None or p.parent_name in placed]
        if not ready:
            names = ", ".join(sorted(p.name for p in pending))
            raise errors.InvalidInput(
                f"host report of {host!r}: providers {names} form a parent cycle"
            )
        for provider in ready:
            planned.append(
                PlannedProvider(
                    name=placement_name(host, provider.name),
                    uuid=uuids[provider.name],
                    parent_uuid=uuids[provider.parent_name] if provider.parent_name else None,
                    inventories={
                        rc: to_inventory(inv) for rc, inv in sorted(provider.inventories.items())
                    },
                    traits=frozenset(provider.traits),
                )
            )
            placed.add(provider.name)
        pending = [p for p in pending if p.name not in placed]
    return planned


def depth(provider: Provider, by_uuid: Mapping[str, Provider]) -> int:
    """How many ancestors ``provider`` has."""
    count = 0
    while provider.parent_uuid is not None and provider.parent_uuid in by_uuid:
        provider = by_uuid[provider.parent_uuid]
        count += 1
    return count


def stale_providers(existing: Sequence[Provider], reported: Iterable[str]) -> list[Provider]:
    """Providers of the tree that the report no longer has, deepest first."""
    keep = set(reported)
    by_uuid = {p.uuid: p for p in existing}
    stale = [p for p in existing if p.uuid not in keep]
    return sorted(stale, key=lambda p: (-depth(p, by_uuid), p.name))


def ancestors(provider: Provider, by_uuid: Mapping[str, Provider]) -> list[str]:
    """Uuids of ``provider``'s ancestors, nearest first."""
    result = []
    while provider.parent_uuid is not None and provider.parent_uuid in by_uuid:
        provider = by_uuid[provider.parent_uuid]
        result.append(provider.uuid)
    return result
