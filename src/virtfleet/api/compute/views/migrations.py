"""How a migration looks in the Compute API: an ``os-migrations`` entry and a
``/servers/{id}/migrations`` entry, per microversion (2.23 type and links, 2.59 uuid,
2.80 user and project)."""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views import links, timestamps
from virtfleet.api.wsgi import Request
from virtfleet.db import migration_records as records
from virtfleet.db.migration_records import Migration


def _bytes(value: int | None) -> int:
    return int(value or 0)


def _endpoints(m: Migration) -> dict[str, Any]:
    """Where a migration goes from and to, and its status (both views share them)."""
    return {
        "source_compute": m.source_compute,
        "source_node": m.source_node,
        "dest_compute": m.dest_compute,
        "dest_node": m.dest_node,
        "dest_host": m.dest_host,
        "status": m.status,
    }


def migration_view(req: Request, m: Migration) -> dict[str, Any]:
    """An ``os-migrations`` entry."""
    body: dict[str, Any] = {
        "id": m.id,
        "instance_uuid": m.instance_uuid,
        **_endpoints(m),
        "old_instance_type_id": None,
        "new_instance_type_id": None,
        "created_at": timestamps.timestamp(m.created_at),
        "updated_at": timestamps.timestamp(m.updated_at),
    }
    if at_least(req, "2.23"):
        body["migration_type"] = m.migration_type
        if m.in_progress and m.migration_type == records.LIVE_MIGRATION:
            body["links"] = links.links(req, f"servers/{m.instance_uuid}/migrations", str(m.id))
    if at_least(req, "2.59"):
        body["uuid"] = m.uuid
    if at_least(req, "2.80"):
        body["user_id"] = m.user_id
        body["project_id"] = m.project_id
    return body


def server_migration_view(req: Request, m: Migration) -> dict[str, Any]:
    """A ``/servers/{id}/migrations`` entry, with progress."""
    body: dict[str, Any] = {
        "id": m.id,
        "server_uuid": m.instance_uuid,
        **_endpoints(m),
        "memory_total_bytes": _bytes(m.memory_total),
        "memory_processed_bytes": _bytes(m.memory_processed),
        "memory_remaining_bytes": _bytes(m.memory_remaining),
        "disk_total_bytes": _bytes(m.disk_total),
        "disk_processed_bytes": _bytes(m.disk_processed),
        "disk_remaining_bytes": _bytes(m.disk_remaining),
        "created_at": timestamps.timestamp(m.created_at),
        "updated_at": timestamps.timestamp(m.updated_at),
    }
    if at_least(req, "2.59"):
        body["uuid"] = m.uuid
    if at_least(req, "2.80"):
        body["user_id"] = m.user_id
        body["project_id"] = m.project_id
    return body
