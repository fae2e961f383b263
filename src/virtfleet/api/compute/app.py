"""The Compute API as a WSGI app (mounted at ``/compute``): the route table of
``routes.py`` bound to the :class:`ComputeDeps`. Paths with a project id after
``/v2.1`` are accepted too; request bodies must be JSON."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import webob

from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.errors import render_error
from virtfleet.api.compute.routes import ROUTES, V
from virtfleet.api.compute.versions import POLICY
from virtfleet.api.wsgi import (
    Handler,
    HTTPError,
    Request,
    Router,
    StartResponse,
    WSGIEnviron,
    bind,
)

PROJECT_SEGMENT = re.compile(r"^/v2\.1/(?:[0-9a-f]{32}|[0-9a-f-]{36})(?=/|$)")
JSON_TYPES = frozenset({"application/json", "application/vnd.openstack.compute+json"})


def json_only(handler: Handler) -> Handler:
    """415 for a request body in another media type than JSON (as Nova answers)."""

    @functools.wraps(handler)
    def wrapped(req: Request, **params: str) -> webob.Response:
        if req.content_type and req.content_type not in JSON_TYPES:
            raise HTTPError(
                415,
                f"Unsupported Content-Type {req.content_type!r}: the Compute API takes "
                "application/json.",
            )
        return handler(req, **params)

    return wrapped


class ComputeApp:
    """The Compute API as a WSGI app: strips a project id segment, then routes."""

    def __init__(self, deps: ComputeDeps) -> None:
        table = [
            r._replace(handler=json_only(r.handler)) if r.method in ("POST", "PUT") else r
            for r in bind(ROUTES, deps)
        ]
        self.router = Router(table, render_error, POLICY, unversioned=("/", V, f"{V}/"))

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        match = PROJECT_SEGMENT.match(path)
        if match:
            environ["PATH_INFO"] = V + path[match.end() :]
        return self.router(environ, start_response)


def make_compute_app(deps: ComputeDeps) -> ComputeApp:
    """The Compute API v2.1 as a WSGI app."""
    return ComputeApp(deps)
