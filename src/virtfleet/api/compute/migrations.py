"""Live migration in the Compute API.

    POST   /servers/{id}/action  {"os-migrateLive": {"host", "block_migration", "force"}}
    GET    /os-migrations                              every migration (filters)
    GET    /servers/{id}/migrations[/{mid}]            in-progress live migrations (2.23)
    DELETE /servers/{id}/migrations/{mid}              abort (2.24)
    POST   /servers/{id}/migrations/{mid}/action       {"force_complete": null} (2.22)

Field sets per microversion follow Nova (2.23 type and links, 2.59 uuid and paging,
2.80 user/project); the workflow is the conductor's ``live_migrations``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, Protocol, cast

import webob

from virtfleet import errors
from virtfleet.api.compute import common
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import hosts, servers
from virtfleet.db import migration_records as records
from virtfleet.db.migration_records import Migration

MIGRATE_LIVE = "os-migrateLive"
LIVE_MIGRATABLE_VM_STATES = ("active", "paused")
MIGRATING = "migrating"


class LiveMigrationWorkflows(Protocol):
    """The conductor's live-migration workflows (``Conductor.live_migrations``)."""

    def start(
        self, instance_uuid: str, host: str | None, block_migration: bool | str, force: bool
    ) -> Migration: ...
    def abort(self, instance_uuid: str, migration_id: int) -> None: ...
    def force_complete(self, instance_uuid: str, migration_id: int) -> None: ...


class _HasLiveMigrations(Protocol):
    live_migrations: LiveMigrationWorkflows


def _workflows(deps: ComputeDeps) -> LiveMigrationWorkflows:
    return cast(_HasLiveMigrations, deps.conductor).live_migrations


# ------------------------------------------------------------------ views


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
        "created_at": common.timestamp(m.created_at),
        "updated_at": common.timestamp(m.updated_at),
    }
    if at_least(req, "2.23"):
        body["migration_type"] = m.migration_type
        if m.in_progress and m.migration_type == records.LIVE_MIGRATION:
            body["links"] = common.links(req, f"servers/{m.instance_uuid}/migrations", str(m.id))
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
        "created_at": common.timestamp(m.created_at),
        "updated_at": common.timestamp(m.updated_at),
    }
    if at_least(req, "2.59"):
        body["uuid"] = m.uuid
    if at_least(req, "2.80"):
        body["user_id"] = m.user_id
        body["project_id"] = m.project_id
    return body


# ------------------------------------------------------------------ parsing


def block_migration_value(req: Request, value: Any) -> bool | str:
    """``"auto"`` (2.25+) or a boolean."""
    if value == "auto" and at_least(req, "2.25"):
        return "auto"
    if isinstance(value, str) and value.lower() == "auto":
        raise HTTPError(
            400,
            "Invalid input for field/attribute block_migration: 'auto' "
            "needs microversion 2.25 or later.",
        )
    return common.boolean("block_migration", value)


def parse_migrate_live(req: Request, argument: Any) -> tuple[str | None, bool | str, bool]:
    """(host, block_migration, force) of an ``os-migrateLive`` body; 400 otherwise."""
    if not isinstance(argument, dict):
        raise HTTPError(400, f"Invalid input for {MIGRATE_LIVE}: expected an object.")
    allowed = {"host", "block_migration"}
    allowed |= {"force"} if at_least(req, "2.30") else set()
    allowed |= set() if at_least(req, "2.25") else {"disk_over_commit"}
    common.reject_unknown(MIGRATE_LIVE, argument, frozenset(allowed))
    for required in ("host", "block_migration"):
        if required not in argument:
            raise HTTPError(
                400, f"Invalid input for {MIGRATE_LIVE}: '{required}' is a required property."
            )
    host = argument["host"]
    if host is not None:
        host = common.string("host", host)
    block = block_migration_value(req, argument["block_migration"])
    force = common.boolean("force", argument.get("force", False))
    if force and host is None:
        raise HTTPError(400, "Invalid input for os-migrateLive: force needs a host.")
    return host, block, force


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
        items = items[: common.integer("limit", limit, 0)]
    return items


# ------------------------------------------------------------------ handlers


class MigrationHandlers:
    def __init__(self, deps: ComputeDeps, server_action: Callable[..., webob.Response]) -> None:
        self.deps = deps
        self._server_action = server_action

    def action(self, req: Request, server_id: str) -> webob.Response:
        """``os-migrateLive`` here; every other server action as before."""
        body = req.json_body_or_400()
        if isinstance(body, dict) and len(body) == 1 and MIGRATE_LIVE in body:
            return self.migrate_live(req, server_id, body[MIGRATE_LIVE])
        return self._server_action(req, server_id=server_id)

    def migrate_live(self, req: Request, server_id: str, argument: Any) -> webob.Response:
        common.require_admin(req, f"os_compute_api:os-migrate-server:{MIGRATE_LIVE}")
        host, block, force = parse_migrate_live(req, argument)
        server = common.visible_server(req, self.deps.db, server_id)
        if server.vm_state not in LIVE_MIGRATABLE_VM_STATES or server.task_state is not None:
            raise HTTPError(
                409,
                f"Cannot '{MIGRATE_LIVE}' instance {server_id} while it is in "
                f"vm_state {server.vm_state}, task_state {server.task_state}.",
            )
        if not server.host:
            raise HTTPError(
                409, f"Cannot '{MIGRATE_LIVE}' instance {server_id}: it is not on a host."
            )
        if host is not None:
            try:
                hosts.get_host_by_name(self.deps.db, host)
            except errors.NotFound:
                raise HTTPError(400, f"Compute host {host} could not be found.") from None
            if host == server.host:
                raise HTTPError(
                    400, f"Unable to migrate instance ({server_id}) to current host ({host})."
                )
        servers.update(self.deps.db, server_id, task_state=MIGRATING)
        try:
            _workflows(self.deps).start(server_id, host, block, force)
        except Exception:
            servers.update(self.deps.db, server_id, task_state=None)
            raise
        return json_response(None, status=202)

    def index(self, req: Request) -> webob.Response:
        """``GET /os-migrations``."""
        common.require_admin(req, "os_compute_api:os-migrations:index")
        params = req.GET
        items = records.list_migrations(
            self.deps.db,
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

    def _live(self, req: Request, server_id: str) -> list[Migration]:
        if not at_least(req, "2.23"):
            raise HTTPError(404, "Server migrations need microversion 2.23 or later.")
        common.require_admin(req, "os_compute_api:servers:migrations:index")
        common.visible_server(req, self.deps.db, server_id)
        return records.list_migrations(
            self.deps.db,
            instance_uuid=server_id,
            migration_type=records.LIVE_MIGRATION,
            in_progress=True,
        )

    def server_index(self, req: Request, server_id: str) -> webob.Response:
        """``GET /servers/{id}/migrations``: in-progress live migrations."""
        items = self._live(req, server_id)
        return json_response({"migrations": [server_migration_view(req, m) for m in items]})

    def server_show(self, req: Request, server_id: str, migration_id: str) -> webob.Response:
        wanted = common.integer("migration_id", migration_id, 1)
        for m in self._live(req, server_id):
            if m.id == wanted:
                return json_response({"migration": server_migration_view(req, m)})
        raise HTTPError(
            404, f"In-progress live migration {migration_id} is not found for server {server_id}."
        )

    def abort(self, req: Request, server_id: str, migration_id: str) -> webob.Response:
        """``DELETE /servers/{id}/migrations/{mid}`` (2.24): cancel and roll back."""
        if not at_least(req, "2.24"):
            raise HTTPError(404, "Aborting a migration needs microversion 2.24 or later.")
        common.require_admin(req, "os_compute_api:servers:migrations:delete")
        migration = self._migration_of(req, server_id, migration_id)
        if migration.status in (records.QUEUED, records.PREPARING) and not at_least(req, "2.65"):
            raise HTTPError(
                409,
                f"Migration {migration.id} is {migration.status}; aborting it "
                "before it runs needs microversion 2.65 or later.",
            )
        _workflows(self.deps).abort(server_id, migration.id)
        return json_response(None, status=202)

    def migration_action(self, req: Request, server_id: str, migration_id: str) -> webob.Response:
        """``POST /servers/{id}/migrations/{mid}/action`` ``{"force_complete": null}``."""
        if not at_least(req, "2.22"):
            raise HTTPError(404, "Forcing a migration to complete needs microversion 2.22.")
        common.require_admin(req, "os_compute_api:servers:migrations:force_complete")
        body = req.json_body_or_400()
        if not isinstance(body, dict) or set(body) != {"force_complete"}:
            raise HTTPError(400, 'Invalid input: the body must be {"force_complete": null}.')
        migration = self._migration_of(req, server_id, migration_id)
        _workflows(self.deps).force_complete(server_id, migration.id)
        return json_response(None, status=202)

    def _migration_of(self, req: Request, server_id: str, migration_id: str) -> Migration:
        common.visible_server(req, self.deps.db, server_id)
        try:
            migration = records.get(self.deps.db, common.integer("migration_id", migration_id, 1))
        except errors.NotFound:
            migration = None
        if migration is None or migration.instance_uuid != server_id:
            raise HTTPError(404, f"Migration {migration_id} for server {server_id} not found.")
        if migration.migration_type != records.LIVE_MIGRATION:
            raise HTTPError(400, f"Migration {migration_id} is not a live migration.")
        if not migration.in_progress:
            raise HTTPError(
                409, f"Migration {migration_id} is {migration.status}, not in progress."
            )
        return migration
