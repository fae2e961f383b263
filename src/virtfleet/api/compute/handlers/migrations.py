"""``GET /os-migrations``: every migration of every server (admin only), with
Nova's filters, and paging from 2.59."""

from __future__ import annotations

import datetime

import webob

from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views.migrations import migration_view
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import migration_records as records
from virtfleet.db.migration_records import Migration


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-migrations: every migration, filtered (admin only)."""
    access.require_admin(req, "os_compute_api:os-migrations:index")
    params = req.GET
    items = records.list_migrations(
        deps.db,
        instance_uuid=params.get("instance_uuid"),
        host=params.get("host") or params.get("source_compute"),
        status=params.get("status"),
        migration_type=params.get("migration_type"),
        changes_since=_changes("changes-since", params.get("changes-since")),
        changes_before=_changes("changes-before", params.get("changes-before")),
        project_id=params.get("project_id") if at_least(req, "2.80") else None,
        user_id=params.get("user_id") if at_least(req, "2.80") else None,
    )
    if at_least(req, "2.59"):
        items = _page(req, items)
    return json_response({"migrations": [migration_view(req, m) for m in items]})


def _changes(name: str, value: str | None) -> datetime.datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPError(
            400, f"Invalid input for query parameter {name}: {value!r} is not an ISO 8601 time."
        ) from None
    try:
        return parsed.astimezone(datetime.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    except OverflowError:
        raise HTTPError(
            400, f"Invalid input for query parameter {name}: {value!r} is out of range."
        ) from None


def _page(req: Request, items: list[Migration]) -> list[Migration]:
    """``marker`` (uuid, exclusive) and ``limit`` (2.59)."""
    marker = req.GET.get("marker")
    if marker is not None:
        position = next((i for i, m in enumerate(items) if m.uuid == marker), None)
        if position is None:
            raise HTTPError(400, f"Marker {marker} could not be found.")
        items = items[position + 1 :]
    limit = req.GET.get("limit")
    if limit is not None:
        items = items[: field_checks.integer("limit", limit, 0)]
    return items
