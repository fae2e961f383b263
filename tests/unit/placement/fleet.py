"""Bulk-build a large provider fleet straight into the tables (fast), for checks of
the engine at fleet scale: compute nodes with VCPU/MEMORY_MB/DISK_GB, and every
``nested_every``-th host carrying a slice tree (one 8-slice, two 4-slices, eight
1-slices) or, alternately, two vGPU children."""

from __future__ import annotations

import uuid as uuidlib

from sqlalchemy import insert

from virtfleet.db.engine import Database
from virtfleet.placement.dbutil import (
    CHANGES,
    INVENTORIES,
    PROVIDER_TRAITS,
    PROVIDERS,
    RESOURCE_CLASSES,
)

SLICE_CLASSES = ("CUSTOM_SLICE_8", "CUSTOM_SLICE_4", "CUSTOM_SLICE_1", "CUSTOM_VGPU")


def _inv(pid: int, rc: str, total: int, ratio: float = 1.0) -> dict[str, object]:
    return {
        "provider_id": pid,
        "resource_class": rc,
        "total": total,
        "reserved": 0,
        "min_unit": 1,
        "max_unit": total,
        "step_size": 1,
        "allocation_ratio": ratio,
    }


def build_fleet(db: Database, hosts: int, nested_every: int = 10) -> None:
    providers: list[dict[str, object]] = []
    inventories: list[dict[str, object]] = []
    traits: list[dict[str, object]] = []
    next_id = 1

    def add(name: str, parent: int | None, root: int | None) -> int:
        nonlocal next_id
        pid = next_id
        next_id += 1
        providers.append(
            {
                "id": pid,
                "uuid": str(uuidlib.UUID(int=pid)),
                "name": name,
                "generation": 1,
                "parent_id": parent,
                "root_id": root or pid,
            }
        )
        return pid

    for h in range(hosts):
        root = add(f"host{h}", None, None)
        traits.append({"provider_id": root, "trait": "HW_ARCH_X86_64"})
        if h % 3 == 0:
            traits.append({"provider_id": root, "trait": "HW_CPU_X86_AVX2"})
        nested = nested_every and h % nested_every == 0
        if nested and (h // nested_every) % 2 == 0:
            s8 = add(f"host{h}-s8", root, root)
            inventories.append(_inv(s8, "CUSTOM_SLICE_8", 1))
            for a in range(2):
                s4 = add(f"host{h}-s4-{a}", s8, root)
                inventories.append(_inv(s4, "CUSTOM_SLICE_4", 1))
                for b in range(4):
                    s1 = add(f"host{h}-s1-{a}{b}", s4, root)
                    inventories.append(_inv(s1, "CUSTOM_SLICE_1", 1))
            continue
        inventories.append(_inv(root, "VCPU", 64, 4.0))
        inventories.append(_inv(root, "MEMORY_MB", 262144, 1.0))
        inventories.append(_inv(root, "DISK_GB", 2000, 1.0))
        if nested:
            for g in range(2):
                gpu = add(f"host{h}-gpu{g}", root, root)
                inventories.append(_inv(gpu, "CUSTOM_VGPU", 8))
    with db.write() as conn:
        conn.execute(insert(RESOURCE_CLASSES), [{"name": rc} for rc in SLICE_CLASSES])
        conn.execute(insert(PROVIDERS), providers)
        conn.execute(insert(INVENTORIES), inventories)
        conn.execute(insert(PROVIDER_TRAITS), traits)
        conn.execute(insert(CHANGES), [{"root_id": 1}])
