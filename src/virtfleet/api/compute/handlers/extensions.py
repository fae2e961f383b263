"""``/extensions``: none (microversions replaced extensions)."""

from __future__ import annotations

import webob

from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.wsgi import Request, json_response


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /extensions: none."""
    return json_response({"extensions": []})
