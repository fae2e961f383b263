"""The root document (``GET /``): which APIs this listener serves and where."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.wsgi import HTTPError, Request, Router, json_response

# (service type, path prefix, current version, description)
SERVICES: tuple[tuple[str, str, str, str], ...] = (
    ("compute", "/compute", "v2.1", "OpenStack Compute API subset (servers, flavors)"),
    ("image", "/image", "v2", "OpenStack Image API v2 subset (images and their data)"),
    ("placement", "/placement", "1.0", "OpenStack Placement API"),
)


def root_document(req: Request) -> dict[str, Any]:
    base = f"{req.host_url}{req.script_name}"
    return {
        "services": [
            {
                "type": service_type,
                "version": version,
                "description": description,
                "links": [{"rel": "self", "href": f"{base}{prefix}/"}],
            }
            for service_type, prefix, version, description in SERVICES
        ]
    }


def _root(req: Request) -> webob.Response:
    return json_response(root_document(req))


def _render_error(req: Request, error: HTTPError) -> webob.Response:
    return json_response({"error": {"code": error.status, "message": error.message}}, error.status)


def make_root_app() -> Router:
    """A WSGI app serving the root document at ``/`` (404 JSON elsewhere)."""
    return Router([("GET", "/", _root)], _render_error)
