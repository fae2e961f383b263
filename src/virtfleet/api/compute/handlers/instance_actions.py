"""Instance actions (``/servers/{id}/os-instance-actions``): what was asked of a
server and how each step went (``openstack server event list/show``).

Per microversion: 2.21 a deleted server's actions; 2.51 events for everyone (the
traceback stays with administrators); 2.58 ``updated_at`` and paging (``limit``,
``marker``, ``changes-since``); 2.62 an event's ``hostId`` (and ``host`` for
administrators); 2.66 ``changes-before``; 2.84 an event's ``details`` (the reason
of a failed step)."""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

import webob

from virtfleet import errors
from virtfleet.api import caller
from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import instance_actions, servers
from virtfleet.db.instance_actions import Action, Event
from virtfleet.db.servers import Server

EVENTS_RULE = "os_compute_api:os-instance-actions:events"
DETAILS_RULE = "os_compute_api:os-instance-actions:events:details"


def _server(deps: ComputeDeps, req: Request, server_id: str) -> Server:
    """The server (a deleted one from 2.21 on), 404 when the caller may not see it."""
    try:
        server = servers.get(deps.db, server_id, read_deleted=at_least(req, "2.21"))
    except errors.NotFound:
        raise HTTPError(404, f"Instance {server_id} could not be found.") from None
    if not access.is_admin(req) and server.project_id != access.project_id(req):
        raise HTTPError(404, f"Instance {server_id} could not be found.")
    return server


def _time(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _action_view(req: Request, action: Action) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": action.action,
        "instance_uuid": action.instance_uuid,
        "request_id": action.request_id,
        "user_id": action.user_id,
        "project_id": action.project_id,
        "start_time": _time(action.start_time),
        "message": action.message,
    }
    if at_least(req, "2.58"):
        body["updated_at"] = _time(action.updated_at)
    return body


def _event_view(req: Request, server: Server, event: Event) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": event.event,
        "start_time": _time(event.start_time),
        "finish_time": _time(event.finish_time),
        "result": event.result,
    }
    if caller.allowed(req, DETAILS_RULE):
        body["traceback"] = event.details
    if at_least(req, "2.62"):
        host = event.host or ""
        digest = f"{server.project_id}{host}".encode()
        body["hostId"] = hashlib.sha224(digest).hexdigest() if host else ""
        if access.is_admin(req):
            body["host"] = host
    if at_least(req, "2.84"):
        body["details"] = event.details if event.result == instance_actions.ERROR else None
    return body


def _when(req: Request, name: str) -> datetime.datetime | None:
    value = req.GET.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPError(400, f"Invalid input for query parameter {name}: {value!r} is not "
                        "an ISO 8601 time.") from None  # fmt: skip
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def index(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """GET /servers/{id}/os-instance-actions: the server's actions, newest first."""
    _server(deps, req, server_id)
    found = instance_actions.list_actions(deps.db, server_id)
    if at_least(req, "2.58"):
        since = _when(req, "changes-since")
        before = _when(req, "changes-before") if at_least(req, "2.66") else None
        if since is not None:
            found = [a for a in found if a.updated_at >= since]
        if before is not None:
            found = [a for a in found if a.updated_at <= before]
        marker = req.GET.get("marker")
        if marker is not None:
            ids = [a.request_id for a in found]
            if marker not in ids:
                raise HTTPError(400, f"Marker {marker} could not be found.")
            found = found[ids.index(marker) + 1 :]
        if "limit" in req.GET:
            found = found[: field_checks.integer("limit", req.GET["limit"], 0)]
    return json_response({"instanceActions": [_action_view(req, a) for a in found]})


def show(deps: ComputeDeps, req: Request, server_id: str, request_id: str) -> webob.Response:
    """GET /servers/{id}/os-instance-actions/{request_id}: one action with its events
    (before 2.51 only administrators see the events)."""
    server = _server(deps, req, server_id)
    try:
        action = instance_actions.get(deps.db, server_id, request_id)
    except errors.NotFound as exc:
        raise HTTPError(404, exc.message) from None
    body = _action_view(req, action)
    if at_least(req, "2.51") or caller.allowed(req, EVENTS_RULE):
        body["events"] = [_event_view(req, server, e) for e in action.events]
    return json_response({"instanceAction": body})
