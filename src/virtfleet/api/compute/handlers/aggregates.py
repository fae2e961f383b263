"""``/os-aggregates``: virtfleet has no host aggregates in the Compute API."""

from __future__ import annotations

import webob

from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.wsgi import Request, json_response


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-aggregates: none (``openstack hypervisor show`` lists them)."""
    return json_response({"aggregates": []})
