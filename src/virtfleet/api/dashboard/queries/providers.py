"""A host's provider tree as placement holds it, read in four queries, and what the
dashboard makes of it: the slice tree (free, used, taken, blocked) and the GPUs with
their mdev types and users. Also the GPUs of the whole fleet, a page at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from virtfleet.api.dashboard.queries.paging import Page
from virtfleet.db.models.compute import Server
from virtfleet.db.models.migrations import Migration
from virtfleet.placement.dbutil import ALLOCATIONS, INVENTORIES, PROVIDER_TRAITS, PROVIDERS
from virtfleet.virt.libvirt.slices.status import ProviderView, slice_statuses

GPU_CLASS = "VGPU"
MDEV_TRAIT = "CUSTOM_MDEV_"


@dataclass
class Provider:
    id: int
    uuid: str
    name: str
    parent_id: int | None
    inventories: dict[str, int] = field(default_factory=dict)  # class -> total
    traits: list[str] = field(default_factory=list)
    holders: dict[str, int] = field(default_factory=dict)  # consumer -> units held


@dataclass
class ProviderTree:
    """The providers of one host's tree, by id."""

    providers: dict[int, Provider]
    host: str = ""

    def short(self, name: str) -> str:
        """A child provider's name without the ``<host>_`` its agent puts first."""
        return name.removeprefix(f"{self.host}_") if self.host else name

    def consumers(self) -> set[str]:
        return {c for p in self.providers.values() for c in p.holders}

    def slices(self, names: Mapping[str, str]) -> list[dict[str, Any]]:
        """The slice tree, parents first, each with its depth and state."""
        by_id = self.providers
        views = [
            ProviderView(
                uuid=p.uuid,
                name=p.name,
                parent_uuid=by_id[p.parent_id].uuid if p.parent_id in by_id else None,
                resource_classes=tuple(sorted(p.inventories)),
                consumers=tuple(sorted(p.holders)),
            )
            for p in by_id.values()
        ]
        return [
            {
                "name": self.short(s.name),
                "provider": s.name,
                "resource_class": s.resource_class,
                "depth": s.depth,
                "state": s.state,
                "detail": s.detail.replace(f" {self.host}_", " ") if self.host else s.detail,
            }
            for s in slice_statuses(views, names)
        ]

    def gpus(self, names: Mapping[str, str]) -> list[dict[str, Any]]:
        """Providers with VGPU inventory: mdev types (from their traits) and users."""
        return [
            {**gpu_view(p, names), "name": self.short(p.name), "provider": p.name}
            for p in sorted(self.providers.values(), key=lambda p: p.name)
            if GPU_CLASS in p.inventories
        ]


def gpu_view(
    provider: Provider, names: Mapping[str, str], host: str | None = None
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": provider.name,
        "mdev_types": sorted(
            t.removeprefix(MDEV_TRAIT).lower() for t in provider.traits if t.startswith(MDEV_TRAIT)
        ),
        "total": provider.inventories.get(GPU_CLASS, 0),
        "used": sum(provider.holders.values()),
        "users": [
            {"consumer": c, "name": names.get(c, ""), "vgpus": n}
            for c, n in sorted(provider.holders.items())
        ],
    }
    if host is not None:
        view["host"] = host
    return view


def _fill(conn: Connection, providers: dict[int, Provider]) -> None:
    """Inventories, traits and allocations of ``providers`` (by id)."""
    ids = list(providers)
    if not ids:
        return
    for pid, rc, total in conn.execute(
        select(INVENTORIES.c.provider_id, INVENTORIES.c.resource_class, INVENTORIES.c.total).where(
            INVENTORIES.c.provider_id.in_(ids)
        )
    ):
        providers[pid].inventories[str(rc)] = int(total)
    for pid, trait in conn.execute(
        select(PROVIDER_TRAITS.c.provider_id, PROVIDER_TRAITS.c.trait).where(
            PROVIDER_TRAITS.c.provider_id.in_(ids)
        )
    ):
        providers[pid].traits.append(str(trait))
    for pid, consumer, used in conn.execute(
        select(ALLOCATIONS.c.provider_id, ALLOCATIONS.c.consumer_uuid, func.sum(ALLOCATIONS.c.used))
        .where(ALLOCATIONS.c.provider_id.in_(ids))
        .group_by(ALLOCATIONS.c.provider_id, ALLOCATIONS.c.consumer_uuid)
    ):
        providers[pid].holders[str(consumer)] = int(used or 0)


def _provider(row: Any) -> Provider:
    return Provider(id=row.id, uuid=row.uuid, name=row.name, parent_id=row.parent_id)


def tree_of(conn: Connection, host: str) -> ProviderTree:
    """The provider tree whose root is named ``host`` (empty if placement has none)."""
    root = conn.execute(
        select(PROVIDERS.c.root_id).where(PROVIDERS.c.name == host, PROVIDERS.c.parent_id.is_(None))
    ).scalar()
    if root is None:
        return ProviderTree({})
    rows = conn.execute(
        select(PROVIDERS.c.id, PROVIDERS.c.uuid, PROVIDERS.c.name, PROVIDERS.c.parent_id).where(
            PROVIDERS.c.root_id == root
        )
    ).all()
    providers = {r.id: _provider(r) for r in rows}
    _fill(conn, providers)
    return ProviderTree(providers, host)


def consumer_names(conn: Connection, consumers: Iterable[str]) -> dict[str, str]:
    """Consumer uuid -> what it is: a server's name, or ``migration of <server>``."""
    wanted = sorted(set(consumers))
    if not wanted:
        return {}
    servers = Server.__table__.c
    migrations = Migration.__table__.c
    names = {
        str(uuid): str(name)
        for uuid, name in conn.execute(
            select(servers.uuid, servers.name).where(servers.uuid.in_(wanted))
        )
    }
    moving = conn.execute(
        select(migrations.uuid, migrations.instance_uuid).where(migrations.uuid.in_(wanted))
    ).all()
    for uuid, instance in moving:
        names[str(uuid)] = f"migration of {names.get(str(instance), str(instance))}"
    return names


def gpu_page(conn: Connection, page: Page) -> dict[str, Any]:
    """GPUs (providers with VGPU inventory) of the whole fleet, by name, one page."""
    gpus = (
        select(
            PROVIDERS.c.id,
            PROVIDERS.c.uuid,
            PROVIDERS.c.name,
            PROVIDERS.c.parent_id,
            PROVIDERS.c.root_id,
        )
        .join(INVENTORIES, INVENTORIES.c.provider_id == PROVIDERS.c.id)
        .where(INVENTORIES.c.resource_class == GPU_CLASS)
    )
    total = conn.execute(select(func.count()).select_from(gpus.subquery())).scalar_one()
    rows = conn.execute(gpus.order_by(PROVIDERS.c.name).offset(page.offset).limit(page.limit)).all()
    providers = {r.id: _provider(r) for r in rows}
    _fill(conn, providers)
    roots = {r.id: r.root_id for r in rows}
    hosts = {
        rid: str(name)
        for rid, name in conn.execute(
            select(PROVIDERS.c.id, PROVIDERS.c.name).where(PROVIDERS.c.id.in_(set(roots.values())))
        )
    }
    names = consumer_names(conn, {c for p in providers.values() for c in p.holders})
    return {
        "gpus": [gpu_view(providers[r.id], names, hosts.get(roots[r.id], "")) for r in rows],
        "page": page.describe(int(total)),
    }
