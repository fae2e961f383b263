"""Hosts: one page of the host list (with each host's capacity and usage), and one
host in full (its provider tree: slices and GPUs with who holds them)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from virtfleet import errors
from virtfleet.api.dashboard.queries.fleet import ARCH, NODES, host_state, state_is
from virtfleet.api.dashboard.queries.paging import Page
from virtfleet.api.dashboard.queries.providers import consumer_names, tree_of
from virtfleet.db.engine import Database
from virtfleet.placement.dbutil import ALLOCATIONS, INVENTORIES, PROVIDERS

MAIN_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")


def host_page(
    db: Database,
    page: Page,
    down_after: float,
    name: str | None = None,
    arch: str | None = None,
    state: str | None = None,
) -> dict[str, Any]:
    """The hosts of ``page`` (by name; ``name`` a substring, ``arch`` and ``state`` exact)
    with their capacity and usage per resource class. Filtered and paged in SQL."""
    now = datetime.datetime.now(datetime.UTC)
    query = select(
        NODES.host,
        NODES.state,
        NODES.status,
        NODES.forced_down,
        NODES.updated_at,
        NODES.cpu_info,
        NODES.disabled_reason,
    )
    if name:
        query = query.where(NODES.host.contains(name, autoescape=True))
    if arch:
        query = query.where(arch == ARCH)
    if state:
        query = query.where(state_is(state, down_after))
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(NODES.host).offset(page.offset).limit(page.limit)).all()
        resources = _resources_by_root(conn, [r.host for r in rows])
    listed = [
        {
            "host": r.host,
            "arch": str((r.cpu_info or {}).get("arch") or ""),
            "state": host_state(r, down_after, now),
            "disabled_reason": r.disabled_reason,
            "maxphysaddr_bits": (r.cpu_info or {}).get("maxphysaddr_bits"),
            "emulated_arches": list((r.cpu_info or {}).get("emulated_arches") or ()),
            "resources": resources.get(r.host, {}),
        }
        for r in rows
    ]
    return {"hosts": listed, "page": page.describe(int(total))}


def _resources_by_root(conn: Connection, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Host name -> resource class -> {capacity, used} over its whole provider tree."""
    roots = {
        row.id: row.name
        for row in conn.execute(
            select(PROVIDERS.c.id, PROVIDERS.c.name).where(
                PROVIDERS.c.name.in_(list(names)), PROVIDERS.c.parent_id.is_(None)
            )
        )
    }
    found: dict[str, dict[str, Any]] = {name: {} for name in roots.values()}
    if not roots:
        return found
    capacity = conn.execute(
        select(
            PROVIDERS.c.root_id,
            INVENTORIES.c.resource_class,
            func.sum(
                (INVENTORIES.c.total - INVENTORIES.c.reserved) * INVENTORIES.c.allocation_ratio
            ),
        )
        .join(PROVIDERS, PROVIDERS.c.id == INVENTORIES.c.provider_id)
        .where(PROVIDERS.c.root_id.in_(list(roots)))
        .group_by(PROVIDERS.c.root_id, INVENTORIES.c.resource_class)
    ).all()
    used = conn.execute(
        select(PROVIDERS.c.root_id, ALLOCATIONS.c.resource_class, func.sum(ALLOCATIONS.c.used))
        .join(PROVIDERS, PROVIDERS.c.id == ALLOCATIONS.c.provider_id)
        .where(PROVIDERS.c.root_id.in_(list(roots)))
        .group_by(PROVIDERS.c.root_id, ALLOCATIONS.c.resource_class)
    ).all()
    for root, rc, total in capacity:
        found[roots[root]][str(rc)] = {"capacity": int(total or 0), "used": 0}
    for root, rc, n in used:
        found[roots[root]].setdefault(str(rc), {"capacity": 0, "used": 0})["used"] = int(n or 0)
    return found


def host_detail(db: Database, name: str, down_after: float) -> dict[str, Any]:
    """One host: its facts, resources, slice tree and GPUs; NotFound naming it."""
    with db.read() as conn:
        row = conn.execute(
            select(
                NODES.host,
                NODES.uuid,
                NODES.state,
                NODES.status,
                NODES.forced_down,
                NODES.updated_at,
                NODES.cpu_info,
                NODES.disabled_reason,
                NODES.vcpus,
                NODES.memory_mb,
                NODES.local_gb,
            ).where(NODES.host == name)
        ).first()
        if row is None:
            raise errors.NotFound(f"Host {name!r} could not be found.")
        tree = tree_of(conn, name)
        names = consumer_names(conn, tree.consumers())
        resources = _resources_by_root(conn, [name]).get(name, {})
    info: Mapping[str, Any] = row.cpu_info or {}
    return {
        "host": row.host,
        "uuid": row.uuid,
        "state": host_state(row, down_after),
        "disabled_reason": row.disabled_reason,
        "arch": str(info.get("arch") or ""),
        "native_arches": list(info.get("native_arches") or ()),
        "emulated_arches": list(info.get("emulated_arches") or ()),
        "maxphysaddr_bits": info.get("maxphysaddr_bits"),
        "cpu_model": info.get("cpu_model"),
        "libvirt_version": info.get("libvirt_version"),
        "qemu_version": info.get("qemu_version"),
        "vcpus": row.vcpus,
        "memory_mb": row.memory_mb,
        "local_gb": row.local_gb,
        "resources": resources,
        "slices": tree.slices(names),
        "gpus": tree.gpus(names),
    }
