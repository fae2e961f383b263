"""Server actions that change what a guest is doing in place (``pause``,
``unpause``, ``suspend``, ``resume``) and the lock (``lock``, ``unlock``)."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api import caller
from virtfleet.api.compute import access
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import server_action as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import servers
from virtfleet.servers import actions, service

UNLOCK_OVERRIDE = "os_compute_api:os-lock-server:unlock:unlock_override"


def begin(deps: ComputeDeps, req: Request, server_id: str, transition: str, action: str) -> None:
    """Begin ``transition`` (409 when the state forbids it; a locked server refuses
    anyone but an administrator) and record the instance action."""
    server = access.visible_server(req, deps.db, server_id)
    check_lock(req, server)
    service.request(deps.db, server_id, transition, owner=deps.owner)
    record(deps, req, server_id, action)


def record(deps: ComputeDeps, req: Request, server_id: str, action: str) -> None:
    """Record that ``action`` was asked of the server by this request."""
    actions.begin(
        deps.db,
        server_id,
        action,
        req.request_id,
        access.user_id(req),
        access.project_id(req),
    )


def check_lock(req: Request, server: servers.Server) -> None:
    """409 when the server is locked and the caller is not an administrator."""
    if server.locked and not access.is_admin(req):
        raise HTTPError(409, f"Instance {server.uuid} is locked")


def _in_place(transition: str, action: str) -> Any:
    def handler(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
        validate_body(req, argument, schema.NO_ARGUMENT)
        begin(deps, req, server_id, transition, action)
        deps.conductor.server_action(server_id, transition)
        return json_response(None, status=202)

    handler.__name__ = transition
    handler.__doc__ = f"``{action}``: {transition} the guest (the conductor does it)."
    return handler


pause = _in_place("pause", actions.PAUSE)
unpause = _in_place("unpause", actions.UNPAUSE)
suspend = _in_place("suspend", actions.SUSPEND)
resume = _in_place("resume", actions.RESUME)


def lock(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``lock`` (2.73: with a ``locked_reason``): only administrators may act on the
    server until it is unlocked; locking a locked server changes nothing."""
    validate_body(req, argument, schema.LOCK)
    server = access.visible_server(req, deps.db, server_id)
    reason = argument.get("locked_reason") if at_least(req, "2.73") and argument else None
    record(deps, req, server_id, actions.LOCK)
    if not server.locked:
        servers.update(
            deps.db,
            server_id,
            locked=True,
            locked_by="admin" if access.is_admin(req) else "owner",
            locked_reason=reason,
        )
    return json_response(None, status=202)


def unlock(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``unlock``: a lock an administrator set needs ``unlock_override`` to lift."""
    validate_body(req, argument, schema.NO_ARGUMENT)
    server = access.visible_server(req, deps.db, server_id)
    if server.locked and server.locked_by == "admin":
        caller.authorize(req, UNLOCK_OVERRIDE)
    record(deps, req, server_id, actions.UNLOCK)
    servers.update(deps.db, server_id, locked=False, locked_by=None, locked_reason=None)
    return json_response(None, status=202)
