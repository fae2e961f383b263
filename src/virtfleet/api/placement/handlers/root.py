"""GET / — the version document."""

from __future__ import annotations

import webob

from virtfleet.api.placement.microversion import POLICY
from virtfleet.api.placement.responses import app_url
from virtfleet.api.wsgi import Request, json_response
from virtfleet.placement.service import PlacementService


def home(_svc: PlacementService, req: Request) -> webob.Response:
    """The only major version, with its microversion range."""
    version = {
        "id": "v1.0",
        "max_version": str(POLICY.maximum),
        "min_version": str(POLICY.minimum),
        "status": "CURRENT",
        "links": [{"rel": "self", "href": app_url(req, "/") if req.script_name else "/"}],
    }
    return json_response({"versions": [version]})
