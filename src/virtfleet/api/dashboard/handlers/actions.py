"""Operator actions as POST forms: live-migrate a server, delete a server, disable or
enable a host. Each form carries the session's CSRF token (the cookie is SameSite=Strict
as well); the action is then the Compute API request an operator would type, made
in-process with the caller's own identity, so the Compute API's policy, state checks,
locks and instance actions apply unchanged. Success goes back to the page the form was
on; a refusal is shown with the Compute API's own message."""

from __future__ import annotations

import json
from typing import Any

import webob

from virtfleet import errors
from virtfleet.api.dashboard import render, session
from virtfleet.api.dashboard.deps import DashboardDeps
from virtfleet.api.wsgi import AUTHORIZER_ENVIRON_KEY, HTTPError, Request
from virtfleet.db import hosts

MICROVERSION = "compute 2.80"
MAX_FIELD = 255


def _form(req: Request) -> webob.multidict.MultiDict:
    """The form, after its CSRF token was checked (403 otherwise)."""
    if req.content_type != "application/x-www-form-urlencoded":
        raise HTTPError(
            415, "The dashboard's actions take application/x-www-form-urlencoded forms."
        )
    form = req.POST
    browser = req.environ.get(session.FROM_COOKIE_KEY, True)
    if browser and not session.csrf_ok(req.environ.get(session.SESSION_KEY), form.get("csrf")):
        raise HTTPError(
            403,
            "The form's CSRF token is missing or does not match this session: reload "
            "the page and try again.",
        )
    return form


def _field(form: Any, name: str) -> str | None:
    value = str(form.get(name, "")).strip()
    if len(value) > MAX_FIELD:
        raise HTTPError(400, f"Form field {name!r} is longer than {MAX_FIELD} characters.")
    return value or None


def _compute(
    deps: DashboardDeps, req: Request, method: str, path: str, body: Any = None
) -> webob.Response:
    """``method /compute/v2.1<path>`` as the caller of ``req`` (same token, roles and
    authorizer, same request id)."""
    sub = webob.Request.blank(f"/v2.1{path}", method=method)
    sub.environ["SCRIPT_NAME"] = "/compute"
    for key, value in req.environ.items():
        if key.startswith(("HTTP_X_", "keystone.")):
            sub.environ[key] = value
    if AUTHORIZER_ENVIRON_KEY in req.environ:
        sub.environ[AUTHORIZER_ENVIRON_KEY] = req.environ[AUTHORIZER_ENVIRON_KEY]
    sub.environ["virtfleet.request_id"] = req.request_id
    sub.headers["OpenStack-API-Version"] = MICROVERSION
    if body is not None:
        sub.body = json.dumps(body).encode()
        sub.content_type = "application/json"
    return sub.get_response(deps.compute)


def _message(resp: webob.Response) -> str:
    """The message of a Compute API error body (``{"<kind>": {"message": ...}}``)."""
    try:
        body = json.loads(resp.body)
    except ValueError:
        return str(resp.status)
    for value in body.values() if isinstance(body, dict) else ():
        if isinstance(value, dict) and value.get("message"):
            return str(value["message"])
    return str(resp.status)


def _outcome(req: Request, resp: webob.Response, notice: str, what: str) -> webob.Response:
    if resp.status_int < 300:
        back = session.safe_next(req.POST.get("next"))
        joiner = "&" if "?" in back else "?"
        return webob.Response(status=303, location=f"{back}{joiner}notice={notice}")
    return render.page(
        req,
        "error.html",
        status=resp.status_int,
        title=f"{what} refused",
        message=_message(resp),
        back=session.safe_next(req.POST.get("next")),
    )


def live_migrate(deps: DashboardDeps, req: Request, server_id: str) -> webob.Response:
    """POST /dashboard/servers/{server_id}/live-migrate: ``host`` (empty: the
    scheduler picks) as os-migrateLive with block_migration auto."""
    form = _form(req)
    body = {"os-migrateLive": {"host": _field(form, "host"), "block_migration": "auto"}}
    resp = _compute(deps, req, "POST", f"/servers/{server_id}/action", body)
    return _outcome(req, resp, "live-migrate", "Live migration")


def delete_server(deps: DashboardDeps, req: Request, server_id: str) -> webob.Response:
    """POST /dashboard/servers/{server_id}/delete: DELETE /servers/{server_id}."""
    _form(req)
    resp = _compute(deps, req, "DELETE", f"/servers/{server_id}")
    return _outcome(req, resp, "delete", "Delete")


def disable_host(deps: DashboardDeps, req: Request, host: str) -> webob.Response:
    """POST /dashboard/hosts/{host}/disable: the host's compute service disabled
    (``reason`` optional), as PUT /os-services/{id}."""
    form = _form(req)
    reason = _field(form, "reason") or "disabled from the dashboard"
    return _set_status(deps, req, host, {"status": "disabled", "disabled_reason": reason})


def enable_host(deps: DashboardDeps, req: Request, host: str) -> webob.Response:
    """POST /dashboard/hosts/{host}/enable: the host's compute service enabled."""
    _form(req)
    return _set_status(deps, req, host, {"status": "enabled"})


def _set_status(
    deps: DashboardDeps, req: Request, host: str, body: dict[str, Any]
) -> webob.Response:
    try:
        record = hosts.get_host_by_name(deps.db, host)
    except errors.NotFound:
        raise HTTPError(404, f"Host {host!r} could not be found.") from None
    resp = _compute(deps, req, "PUT", f"/os-services/{record.uuid}", body)
    return _outcome(req, resp, str(body["status"]).removesuffix("d"), "Host status change")
