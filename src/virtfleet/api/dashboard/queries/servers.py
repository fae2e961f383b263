"""Servers, a page at a time: state, host, guest architecture and flavor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from virtfleet.api.dashboard.queries.paging import Page
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import Server

SERVERS = Server.__table__.c


def server_page(
    db: Database,
    page: Page,
    name: str | None = None,
    host: str | None = None,
    state: str | None = None,
) -> dict[str, Any]:
    """Servers not deleted, newest first; ``name`` a substring, ``host`` and ``state``
    (vm_state) exact."""
    query = select(
        SERVERS.uuid,
        SERVERS.name,
        SERVERS.project_id,
        SERVERS.vm_state,
        SERVERS.task_state,
        SERVERS.host,
        SERVERS.flavor,
        SERVERS.guest_request,
        SERVERS.created_at,
    ).where(SERVERS.deleted_at.is_(None))
    if name:
        query = query.where(SERVERS.name.contains(name, autoescape=True))
    if host:
        query = query.where(SERVERS.host == host)
    if state:
        query = query.where(SERVERS.vm_state == state)
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(
            query.order_by(SERVERS.created_at.desc(), SERVERS.uuid)
            .offset(page.offset)
            .limit(page.limit)
        ).all()
    return {"servers": [_view(r) for r in rows], "page": page.describe(int(total))}


def _view(row: Any) -> dict[str, Any]:
    guest: Mapping[str, Any] = row.guest_request or {}
    flavor: Mapping[str, Any] = row.flavor or {}
    return {
        "id": row.uuid,
        "name": row.name,
        "project_id": row.project_id,
        "state": row.vm_state,
        "task_state": row.task_state,
        "host": row.host,
        "arch": guest.get("arch") or guest.get("native_arch") or "",
        "emulated": bool(guest.get("emulated")),
        "flavor": flavor.get("name") or flavor.get("original_name") or flavor.get("id") or "",
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }
