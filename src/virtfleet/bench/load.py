"""Load a benchmark :class:`~virtfleet.bench.fleet.Fleet` into virtfleet's database.

Rows are bulk-inserted into the placement tables (and the compute nodes table, so the
scheduler knows every host), exactly what the PlacementService's own writes would
leave behind, in a few statements instead of one transaction per provider; one
change-log row makes every PlacementService reload its snapshot.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Table, insert

from virtfleet.bench.fleet import Fleet, HostSpec
from virtfleet.db.engine import Database
from virtfleet.db.models.hosts import ComputeNode
from virtfleet.placement.dbutil import (
    ALLOCATIONS,
    CHANGES,
    CONSUMERS,
    INVENTORIES,
    PROVIDER_TRAITS,
    PROVIDERS,
    RESOURCE_CLASSES,
    TRAITS,
)

COMPUTE_NODES: Table = ComputeNode.__table__  # type: ignore[assignment]
_BATCH = 5000

#: Host arch -> arches it runs natively (the compute node's ``cpu_info``).
NATIVE_ARCHES: dict[str, tuple[str, ...]] = {
    "x86_64": ("x86_64", "i686"),
    "aarch64": ("aarch64",),
    "ppc64le": ("ppc64le",),
    "s390x": ("s390x",),
}
#: Guest arch -> machine types a host offers for it.
MACHINE_TYPES: dict[str, list[str]] = {
    "x86_64": ["pc", "q35"],
    "i686": ["pc", "q35"],
    "aarch64": ["virt"],
    "riscv64": ["virt"],
    "ppc64le": ["pseries"],
    "s390x": ["s390-ccw-virtio"],
}


def cpu_info(host: HostSpec) -> dict[str, Any]:
    """What the host's compute node record says about its CPU (filters read it)."""
    native = NATIVE_ARCHES[host.arch]
    return {
        "arch": host.arch,
        "native_arches": list(native),
        "emulated_arches": list(host.emulates),
        "machine_types": {a: MACHINE_TYPES[a] for a in (*native, *host.emulates)},
        "maxphysaddr_bits": 46 if host.arch == "x86_64" else None,
    }


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def load_fleet(db: Database, fleet: Fleet) -> None:
    """Insert every provider, inventory, trait, consumer, allocation and host record."""
    ids = {p.uuid: i for i, p in enumerate(fleet.providers(), start=1)}
    tables: list[tuple[Table, Iterable[dict[str, Any]]]] = [
        (RESOURCE_CLASSES, ({"name": rc} for rc in fleet.custom_resource_classes)),
        (TRAITS, ({"name": t} for t in fleet.custom_traits)),
        (PROVIDERS, _provider_rows(fleet, ids)),
        (INVENTORIES, _inventory_rows(fleet, ids)),
        (PROVIDER_TRAITS, _trait_rows(fleet, ids)),
        (CONSUMERS, _consumer_rows(fleet)),
        (ALLOCATIONS, _allocation_rows(fleet, ids)),
        (COMPUTE_NODES, (_compute_node_row(h) for h in fleet.hosts)),
        (CHANGES, [{"root_id": 1}]),
    ]
    with db.write() as conn:
        for table, rows in tables:
            for batch in _batches(rows):
                conn.execute(insert(table), batch)


def _provider_rows(fleet: Fleet, ids: dict[str, int]) -> Iterator[dict[str, Any]]:
    for host in fleet.hosts:
        root_id = ids[host.uuid]
        for p in host.providers:
            yield {
                "id": ids[p.uuid],
                "uuid": p.uuid,
                "name": p.name,
                "generation": 1,
                "parent_id": ids[p.parent_uuid] if p.parent_uuid else None,
                "root_id": root_id,
            }


def _inventory_rows(fleet: Fleet, ids: dict[str, int]) -> Iterator[dict[str, Any]]:
    for p in fleet.providers():
        for rc, inv in p.inventories.items():
            yield {"provider_id": ids[p.uuid], "resource_class": rc, **inv.as_dict()}


def _trait_rows(fleet: Fleet, ids: dict[str, int]) -> Iterator[dict[str, Any]]:
    for p in fleet.providers():
        for trait in sorted(p.traits):
            yield {"provider_id": ids[p.uuid], "trait": trait}


def _consumer_rows(fleet: Fleet) -> Iterator[dict[str, Any]]:
    for c in fleet.consumers():
        yield {
            "uuid": c.uuid,
            "project_id": c.project_id,
            "user_id": c.user_id,
            "generation": 1,
            "consumer_type": None,
        }


def _allocation_rows(fleet: Fleet, ids: dict[str, int]) -> Iterator[dict[str, Any]]:
    for c in fleet.consumers():
        for rp_uuid, resources in c.allocations.items():
            for rc, used in resources.items():
                yield {
                    "consumer_uuid": c.uuid,
                    "provider_id": ids[rp_uuid],
                    "resource_class": rc,
                    "used": used,
                }


def _compute_node_row(host: HostSpec) -> dict[str, Any]:
    root = host.providers[0].inventories
    now = datetime.datetime.now(datetime.UTC)
    return {
        "uuid": host.uuid,
        "host": host.name,
        "hypervisor_type": "QEMU",
        "hypervisor_version": 8002000,
        "hypervisor_hostname": host.name,
        "vcpus": root["VCPU"].total if "VCPU" in root else 0,
        "memory_mb": root["MEMORY_MB"].total if "MEMORY_MB" in root else 0,
        "local_gb": root["DISK_GB"].total if "DISK_GB" in root else 0,
        "cpu_info": cpu_info(host),
        "state": "up",
        "status": "enabled",
        "created_at": now,
        "updated_at": now,
    }
