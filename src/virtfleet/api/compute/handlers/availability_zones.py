"""``/os-availability-zone``: the one zone, ``nova``."""

from __future__ import annotations

import webob

from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.wsgi import Request, json_response

ZONE = "nova"


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-availability-zone[/detail]: the one zone, available."""
    zone = {"zoneName": ZONE, "zoneState": {"available": True}, "hosts": None}
    return json_response({"availabilityZoneInfo": [zone]})
