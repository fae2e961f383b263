"""``/os-keypairs``: virtfleet has no key pairs yet; the list is empty."""

from __future__ import annotations

import webob

from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.wsgi import Request, json_response


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-keypairs: none."""
    return json_response({"keypairs": []})
