"""Routes of microversions virtfleet advertises but whose feature it does not offer:
each answers a 400 that says what is not there and why, instead of a 404 that reads
like a wrong URL (docs/api.md lists them)."""

from __future__ import annotations

import webob

from virtfleet.api.compute import access
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import aggregate as aggregate_schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request


def server_topology(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """GET /servers/{id}/topology (2.78): not offered."""
    access.visible_server(req, deps.db, server_id)
    if not at_least(req, "2.78"):
        raise HTTPError(404, f"The resource could not be found: {req.path_info}.")
    raise HTTPError(
        400,
        "Server topology (GET /servers/{id}/topology, 2.78) is not supported by virtfleet: "
        "it does not record the guest NUMA layout the reference reports.",
    )


def aggregate_images(deps: ComputeDeps, req: Request, aggregate_id: str) -> webob.Response:
    """POST /os-aggregates/{id}/images (2.81): not offered."""
    access.require_admin(req, "os_compute_api:os-aggregates:images")
    if not at_least(req, "2.81"):
        raise HTTPError(404, f"The resource could not be found: {req.path_info}.")
    validate_body(req, req.json_body_or_400(), aggregate_schema.IMAGES)
    raise HTTPError(
        400,
        "Image pre-caching on aggregates (POST /os-aggregates/{id}/images, 2.81) is not "
        "supported by virtfleet: agents fetch an image into their cache at first boot.",
    )
