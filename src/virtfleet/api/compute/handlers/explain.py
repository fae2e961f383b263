"""``POST /v2.1/os-scheduler-explain`` (admin only): where a flavor + image would go.

A dry run of the scheduler for a boot request, without claiming anything: the best
hosts with their weights and, per constraint (resource, trait, filter), how many hosts
it excludes and which. ``virtfleet explain`` prints it.

Body: ``{"explain": {"flavorRef": ID, "imageRef": ID, "host": NAME?, "limit": N?}}``.
"""

from __future__ import annotations

import uuid
from typing import Any

import webob

from virtfleet import errors
from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.boot_checks import check_boot, scheduler_flavor
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import explain as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import flavors
from virtfleet.scheduler.resource_request import RequestSpec

DEFAULT_LIMIT = 5


def explain(deps: ComputeDeps, req: Request) -> webob.Response:
    """POST /os-scheduler-explain: the hosts a boot would get, and why not others."""
    access.require_admin(req, "os_compute_api:os-scheduler-explain")
    scheduler = deps.scheduler
    if scheduler is None:
        raise HTTPError(501, "This deployment has no scheduler to explain with.")
    raw = req.json_body_or_400()
    validate_body(req, raw, schema.EXPLAIN)
    body: dict[str, Any] = raw["explain"]
    spec = _spec(deps, req, body)
    limit = int(body.get("limit", DEFAULT_LIMIT))
    try:
        chosen = scheduler.select_destinations(spec, limit)
    except errors.NoValidHost:
        chosen = ()
    explanation = scheduler.explain(spec)
    return json_response(
        {
            "explanation": explanation.as_dict()
            | {
                "details": explanation.details(),
                "hosts": [{"host": s.host, "weight": round(s.weight, 4)} for s in chosen],
            }
        }
    )


def _spec(deps: ComputeDeps, req: Request, body: dict[str, Any]) -> RequestSpec:
    flavor_ref = field_checks.ref_id(body["flavorRef"])
    image_ref = field_checks.ref_id(body["imageRef"])
    try:
        flavor = flavors.get(deps.db, flavor_ref)
    except errors.NotFound:
        raise HTTPError(400, f"Flavor {flavor_ref} could not be found (flavorRef).") from None
    image = access.visible_image(req, deps.db, image_ref)
    guest = check_boot(flavor, image, deps.conf)
    host = body.get("host")
    return RequestSpec(
        instance_uuid=str(uuid.uuid4()),
        project_id=access.project_id(req),
        user_id=access.user_id(req),
        flavor=scheduler_flavor(flavor),
        image_properties=dict(image.properties),
        guest=guest,
        requested_host=host,
    )
