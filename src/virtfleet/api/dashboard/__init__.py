"""The web dashboard (mounted at ``/dashboard``): server-rendered pages over the
fleet, hosts with their slice trees and GPUs, servers, migrations in progress and
recent actions, with a few operator actions. Behind the same authentication and
policy as the APIs: the browser's Keystone token lives in a session cookie
(:mod:`.session`), every route has a policy rule (:mod:`.routes`). See
docs/dashboard.md."""

from __future__ import annotations

import json

import webob

from virtfleet.api.dashboard import render
from virtfleet.api.dashboard.deps import DashboardDeps
from virtfleet.api.dashboard.routes import ROUTES
from virtfleet.api.wsgi import HTTPError, Request, Router, bind


def render_error(req: Request, error: HTTPError) -> webob.Response:
    """JSON for ``/api/...`` (``{"error": {"code", "message"}}``), a page otherwise."""
    if (req.path_info or "").startswith("/api/"):
        body = {"error": {"code": error.status, "message": error.message}}
        resp = webob.Response(
            status=error.status, body=json.dumps(body).encode(), content_type="application/json"
        )
        resp.charset = None
        return resp
    return render.page(
        req,
        "error.html",
        status=error.status,
        title=f"{error.status} {webob.exc.status_map.get(error.status, webob.exc.HTTPError).title}",
        message=error.message,
        back="/dashboard/",
    )


def make_dashboard_app(deps: DashboardDeps) -> Router:
    """The dashboard as a WSGI app over ``deps``."""
    return Router(bind(ROUTES, deps), render_error)
