"""A server's live migrations.

    POST   /servers/{id}/action  {"os-migrateLive": {"host", "block_migration", "force"}}
    GET    /servers/{id}/migrations[/{mid}]            in-progress live migrations (2.23)
    DELETE /servers/{id}/migrations/{mid}              abort (2.24)
    POST   /servers/{id}/migrations/{mid}/action       {"force_complete": null} (2.22)

Field sets per microversion follow Nova; the workflow is the conductor's
``live_migrations``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import webob

from virtfleet import errors
from virtfleet.api.compute import access, field_checks, group_checks
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.handlers.server_state_actions import record
from virtfleet.api.compute.schemas import server_action as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views.migrations import server_migration_view
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import hosts
from virtfleet.db import migration_records as records
from virtfleet.db.migration_records import Migration
from virtfleet.servers import actions, service

MIGRATE_LIVE = "os-migrateLive"


def migrate_live(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``os-migrateLive``: move a running server to another host (the scheduler's
    choice, or ``host``) without stopping it."""
    access.require_admin(req, "os_compute_api:os-migrate-server:migrate_live")
    host, block, force = parse_migrate_live(req, argument)
    server = access.visible_server(req, deps.db, server_id)
    service.check(server, "live_migrate")
    if host is not None:
        try:
            hosts.get_host_by_name(deps.db, host)
        except errors.NotFound:
            raise HTTPError(400, f"Compute host {host} could not be found.") from None
        if host == server.host:
            raise HTTPError(
                400, f"Unable to migrate instance ({server_id}) to current host ({host})."
            )
        group_checks.refuse_breaking_group(deps.db, server_id, host)
    service.request(deps.db, server_id, "live_migrate", owner=deps.owner)
    record(deps, req, server_id, actions.LIVE_MIGRATION)
    try:
        deps.live_migrations.start(server_id, host, block, force)
    except Exception:
        with contextlib.suppress(service.InvalidServerState):
            service.request(deps.db, server_id, "migration_ended")
        raise
    return json_response(None, status=202)


def index(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """GET /servers/{id}/migrations (2.23): the server's in-progress live migrations."""
    items = _live(deps, req, server_id)
    return json_response({"migrations": [server_migration_view(req, m) for m in items]})


def show(deps: ComputeDeps, req: Request, server_id: str, migration_id: str) -> webob.Response:
    """GET /servers/{id}/migrations/{mid} (2.23): one in-progress live migration."""
    wanted = field_checks.integer("migration_id", migration_id, 1)
    for m in _live(deps, req, server_id):
        if m.id == wanted:
            return json_response({"migration": server_migration_view(req, m)})
    raise HTTPError(
        404, f"In-progress live migration {migration_id} is not found for server {server_id}."
    )


def abort(deps: ComputeDeps, req: Request, server_id: str, migration_id: str) -> webob.Response:
    """DELETE /servers/{id}/migrations/{mid} (2.24): cancel and roll back."""
    if not at_least(req, "2.24"):
        raise HTTPError(404, "Aborting a migration needs microversion 2.24 or later.")
    access.require_admin(req, "os_compute_api:servers:migrations:delete")
    migration = _migration_of(deps, req, server_id, migration_id)
    if migration.status in (records.QUEUED, records.PREPARING) and not at_least(req, "2.65"):
        raise HTTPError(
            409,
            f"Migration {migration.id} is {migration.status}; aborting it "
            "before it runs needs microversion 2.65 or later.",
        )
    deps.live_migrations.abort(server_id, migration.id)
    return json_response(None, status=202)


def action(deps: ComputeDeps, req: Request, server_id: str, migration_id: str) -> webob.Response:
    """POST /servers/{id}/migrations/{mid}/action ``{"force_complete": null}`` (2.22)."""
    if not at_least(req, "2.22"):
        raise HTTPError(404, "Forcing a migration to complete needs microversion 2.22.")
    access.require_admin(req, "os_compute_api:servers:migrations:force_complete")
    validate_body(req, req.json_body_or_400(), schema.FORCE_COMPLETE)
    migration = _migration_of(deps, req, server_id, migration_id)
    deps.live_migrations.force_complete(server_id, migration.id)
    return json_response(None, status=202)


def _live(deps: ComputeDeps, req: Request, server_id: str) -> list[Migration]:
    if not at_least(req, "2.23"):
        raise HTTPError(404, "Server migrations need microversion 2.23 or later.")
    access.require_admin(req, "os_compute_api:servers:migrations:index")
    access.visible_server(req, deps.db, server_id)
    return records.list_migrations(
        deps.db,
        instance_uuid=server_id,
        migration_type=records.LIVE_MIGRATION,
        in_progress=True,
    )


def _migration_of(deps: ComputeDeps, req: Request, server_id: str, migration_id: str) -> Migration:
    access.visible_server(req, deps.db, server_id)
    try:
        migration = records.get(deps.db, field_checks.integer("migration_id", migration_id, 1))
    except errors.NotFound:
        migration = None
    if migration is None or migration.instance_uuid != server_id:
        raise HTTPError(404, f"Migration {migration_id} for server {server_id} not found.")
    if migration.migration_type != records.LIVE_MIGRATION:
        raise HTTPError(400, f"Migration {migration_id} is not a live migration.")
    if not migration.in_progress:
        raise HTTPError(409, f"Migration {migration_id} is {migration.status}, not in progress.")
    return migration


def parse_migrate_live(req: Request, argument: Any) -> tuple[str | None, bool | str, bool]:
    """(host, block_migration, force) of an ``os-migrateLive`` body; 400 otherwise."""
    validate_body(req, argument, schema.MIGRATE_LIVE)
    host = argument["host"]
    value = argument["block_migration"]
    block = "auto" if value == "auto" else field_checks.boolean("block_migration", value)
    force = field_checks.boolean("force", argument.get("force", False))
    if force and host is None:
        raise HTTPError(400, "Invalid input for os-migrateLive: force needs a host.")
    return host, block, force
