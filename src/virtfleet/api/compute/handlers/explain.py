"""``POST /v2.1/os-scheduler-explain`` (admin only): where a flavor + image would go.

A dry run of the scheduler for a boot request, without claiming anything: the best
hosts with their weights (taken apart by weigher, and how a tie is broken) and, per
constraint (resource, trait, filter), how many hosts it excludes and which.
``virtfleet explain`` prints it.

Body: ``{"explain": {"flavorRef": ID, "imageRef": ID, "host": NAME?, "limit": N?}}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import webob

from virtfleet import errors
from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.boot_checks import check_boot, scheduler_flavor
from virtfleet.api.compute.deps import ComputeDeps, Selected
from virtfleet.api.compute.schemas import explain as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import flavors
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.scheduler.weighers import WeigherScore

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
        chosen = scheduler.weighed_destinations(spec, limit)
    except errors.NoValidHost:
        chosen = ()
    explanation = scheduler.explain(spec)
    return json_response(
        {
            "explanation": explanation.as_dict()
            | {
                "details": explanation.details(),
                "hosts": [_weighed_host(selection, scores) for selection, scores in chosen],
                "ranking_note": _ranking_note(deps, chosen),
            }
        }
    )


def _weighed_host(selection: Selected, scores: Sequence[WeigherScore]) -> dict[str, Any]:
    return {
        "host": selection.host,
        "weight": round(selection.weight, 4),
        "weighers": [
            {"weigher": s.weigher, "raw": s.raw, "weight": round(s.weight, 4)} for s in scores
        ],
    }


Weighed = Sequence[tuple[Selected, Sequence[WeigherScore]]]


def _ranking_note(deps: ComputeDeps, chosen: Weighed) -> str:
    """Why the weights look as they do when they alone do not tell ("" otherwise)."""
    if len(chosen) == 1:
        return "one host fits; weights compare hosts with each other, so a lone host has 0"
    if len(chosen) < 2 or chosen[0][0].weight != chosen[1][0].weight:
        return ""
    tied = sum(1 for selection, _ in chosen if selection.weight == chosen[0][0].weight)
    subset = deps.conf.scheduler.host_subset_size if deps.conf is not None else 1
    head = f"{tied}{'+' if tied == len(chosen) else ''} hosts tie for the best weight; "
    if subset <= 1:
        return head + (
            f"a boot takes the first by name ({chosen[0][0].host}); "
            "[scheduler] host_subset_size > 1 spreads concurrent boots among the best"
        )
    return head + (
        f"a boot tries one of the best {subset} ([scheduler] host_subset_size) at random "
        "first, so that concurrent boots spread"
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
