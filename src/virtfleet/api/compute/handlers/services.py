"""``/os-services``: the compute service of each host, which operators disable (no
new servers; the guests stay) and force down (the host is gone: its servers may be
evacuated). Admin only, as in Nova.

Before 2.53 services are named by host and binary (``PUT /os-services/disable``,
``/enable``, ``/disable-log-reason``, 2.11 ``/force-down``); from 2.53 by UUID
(``PUT /os-services/{id}`` with ``status``, ``disabled_reason``, ``forced_down``)."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet import errors
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import services as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views import timestamps
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import hosts
from virtfleet.db.hosts import HostRecord

BINARY = "nova-compute"  # the name clients know the compute service by


def _view(req: Request, host: HostRecord, down_after: float) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": host.uuid if at_least(req, "2.53") else host.id,
        "binary": BINARY,
        "host": host.host,
        "zone": "nova",
        "status": host.status,
        "state": "down" if host.is_down(down_after) else "up",
        "updated_at": timestamps.timestamp(host.updated_at),
        "disabled_reason": host.disabled_reason,
    }
    if at_least(req, "2.11"):
        body["forced_down"] = host.forced_down
    return body


def _down_after(deps: ComputeDeps) -> float:
    return float(deps.conf.compute.host_down_after) if deps.conf is not None else 0.0


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-services (``host`` and ``binary`` filters): one compute service per host."""
    found = hosts.list_hosts(deps.db)
    if "host" in req.GET:
        found = [h for h in found if h.host == req.GET["host"]]
    if req.GET.get("binary") not in (None, BINARY):
        found = []
    down_after = _down_after(deps)
    return json_response({"services": [_view(req, h, down_after) for h in found]})


def update(deps: ComputeDeps, req: Request, service_id: str) -> webob.Response:
    """PUT /os-services/{id}: from 2.53 the service's UUID with ``status``,
    ``disabled_reason`` and ``forced_down``; before, ``{id}`` is an action
    (``enable``, ``disable``, ``disable-log-reason``, 2.11 ``force-down``) with
    ``host`` and ``binary`` in the body."""
    body = req.json_body_or_400()
    if at_least(req, "2.53"):
        return _update_by_uuid(deps, req, service_id, body)
    return _update_by_action(deps, req, service_id, body)


def _host_by_uuid(deps: ComputeDeps, service_id: str) -> HostRecord:
    try:
        return hosts.get_host_by_uuid(deps.db, service_id)
    except errors.NotFound:
        raise HTTPError(404, f"Service {service_id} could not be found.") from None


def _update_by_uuid(
    deps: ComputeDeps, req: Request, service_id: str, body: dict[str, Any]
) -> webob.Response:
    validate_body(req, body, schema.UPDATE)
    host = _host_by_uuid(deps, service_id)
    status = body.get("status")
    reason = body.get("disabled_reason")
    if reason is not None and status != "disabled":
        raise HTTPError(400, "Specifying 'disabled_reason' with status 'enabled' is invalid.")
    if status is None and "forced_down" not in body:
        raise HTTPError(400, "At least one of 'status' or 'forced_down' must be specified.")
    if status is not None:
        host = hosts.set_status(deps.db, host.host, status, reason)
    if "forced_down" in body:
        host = hosts.set_forced_down(deps.db, host.host, bool(body["forced_down"]))
    return json_response({"service": _view(req, host, _down_after(deps))})


def _update_by_action(
    deps: ComputeDeps, req: Request, action: str, body: dict[str, Any]
) -> webob.Response:
    validate_body(req, body, schema.LEGACY_UPDATE)
    if action == "force-down" and not at_least(req, "2.11"):
        raise HTTPError(404, "force-down needs microversion 2.11 or later.")
    if action not in ("enable", "disable", "disable-log-reason", "force-down"):
        raise HTTPError(404, f"Unknown action {action!r}.")
    name = body["host"]
    if body["binary"] != BINARY:
        raise HTTPError(400, f"Binary {body['binary']!r} is not a compute service ({BINARY}).")
    try:
        if action == "enable":
            host = hosts.set_status(deps.db, name, "enabled")
        elif action == "disable":
            host = hosts.set_status(deps.db, name, "disabled")
        elif action == "disable-log-reason":
            reason = body.get("disabled_reason")
            if not reason:
                raise HTTPError(400, "disable-log-reason needs a disabled_reason.")
            host = hosts.set_status(deps.db, name, "disabled", reason)
        else:
            if "forced_down" not in body:
                raise HTTPError(400, "force-down needs forced_down (true or false).")
            host = hosts.set_forced_down(deps.db, name, bool(body["forced_down"]))
    except errors.NotFound:
        raise HTTPError(404, f"Host '{name}' could not be found.") from None
    shown: dict[str, Any] = {"host": host.host, "binary": BINARY}
    if action == "force-down":
        shown["forced_down"] = host.forced_down
    else:
        shown["status"] = host.status
        if action == "disable-log-reason":
            shown["disabled_reason"] = host.disabled_reason
    return json_response({"service": shown})
