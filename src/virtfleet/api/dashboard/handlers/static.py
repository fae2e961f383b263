"""The dashboard's script and style, from the package (two known files, nothing else)."""

from __future__ import annotations

import functools
from importlib import resources

import webob

from virtfleet.api.dashboard.deps import DashboardDeps
from virtfleet.api.wsgi import HTTPError, Request

FILES = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


@functools.cache
def _read(name: str) -> bytes:
    return (resources.files("virtfleet.api.dashboard") / "static" / name).read_bytes()


def serve(deps: DashboardDeps, req: Request, name: str) -> webob.Response:
    """GET /dashboard/static/{name}: dashboard.js or dashboard.css."""
    if name not in FILES:
        raise HTTPError(404, f"No static file {name!r}: the dashboard has {', '.join(FILES)}.")
    resp = webob.Response(body=_read(name), content_type=FILES[name], charset="utf-8")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "max-age=300"
    return resp
