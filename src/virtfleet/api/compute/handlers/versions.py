"""The Compute API's version documents: ``GET /`` (every version) and ``GET /v2.1``."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.versions import MAX_VERSION, MIN_VERSION
from virtfleet.api.wsgi import Request, json_response

LATEST_CHANGE_DATE = "2013-07-23T11:33:21Z"


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /: the versions this API serves (one: v2.1)."""
    return json_response({"versions": [version_entry(req)]})


def show(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /v2.1: the v2.1 version document with its microversion range."""
    return json_response({"version": version_entry(req)})


def version_entry(req: Request) -> dict[str, Any]:
    """The v2.1 entry of the version documents."""
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": MAX_VERSION,
        "min_version": MIN_VERSION,
        "updated": LATEST_CHANGE_DATE,
        "links": [{"rel": "self", "href": f"{req.host_url}{req.script_name}/v2.1/"}],
        "media-types": [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1",
            }
        ],
    }
