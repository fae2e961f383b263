"""Version discovery and extensions: ``/``, ``/v2.0`` and ``/v2.0/extensions``."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.network.versions import EXTENSIONS, RESOURCES, VERSION
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.network.service import NetworkService


def choices(service: NetworkService, req: Request) -> webob.Response:
    """GET /: the one API version."""
    href = f"{req.host_url}{req.script_name}/{VERSION}/"
    version = {"id": VERSION, "status": "CURRENT", "links": [{"rel": "self", "href": href}]}
    return json_response({"versions": [version]})


def index(service: NetworkService, req: Request) -> webob.Response:
    """GET /v2.0: the resource collections."""
    base = f"{req.host_url}{req.script_name}/{VERSION}"
    resources = [
        {
            "name": name,
            "collection": collection,
            "links": [{"rel": "self", "href": f"{base}/{path}"}],
        }
        for name, collection, path in RESOURCES
    ]
    return json_response({"resources": resources})


def _extension(alias: str, name: str, description: str) -> dict[str, Any]:
    return {
        "alias": alias,
        "name": name,
        "description": description,
        "updated": "2026-01-01T00:00:00-00:00",
        "links": [],
    }


def extensions(service: NetworkService, req: Request) -> webob.Response:
    """GET /v2.0/extensions: the extensions this subset implements."""
    return json_response({"extensions": [_extension(*e) for e in EXTENSIONS]})


def extension(service: NetworkService, req: Request, alias: str) -> webob.Response:
    """GET /v2.0/extensions/{alias}: one extension (404 for one not implemented)."""
    for entry in EXTENSIONS:
        if entry[0] == alias:
            return json_response({"extension": _extension(*entry)})
    raise HTTPError(404, f"Extension with alias {alias} does not exist", "ExtensionNotFound")
