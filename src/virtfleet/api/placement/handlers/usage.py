"""/resource_providers/{uuid}/usages and /usages (1.9)."""

from __future__ import annotations

import webob

from virtfleet.api.placement import inputs, responses
from virtfleet.api.placement.microversion import require, since
from virtfleet.api.placement.schemas import usage as schema
from virtfleet.api.wsgi import Request
from virtfleet.placement.service import PlacementService


def provider_usages(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """GET /resource_providers/{uuid}/usages: used amount per inventory class."""
    generation, usages = svc.provider_usages(uuid)
    return responses.respond(
        req, {"usages": dict(sorted(usages.items())), "resource_provider_generation": generation}
    )


def project_usages(svc: PlacementService, req: Request) -> webob.Response:
    """GET /usages?project_id=&user_id= (1.9); from 1.38 grouped by consumer type
    with a consumer count, and filterable by ``consumer_type``."""
    require(req, "1.9")
    if not since(req, "1.38"):
        params = inputs.query(req, schema.QUERY_V1_9)
        totals = svc.total_usages(params["project_id"], params.get("user_id"))
        return responses.respond(req, {"usages": dict(sorted(totals.items()))})
    params = inputs.query(req, schema.QUERY_V1_38)
    by_type = svc.usages(params["project_id"], params.get("user_id"), params.get("consumer_type"))
    return responses.respond(
        req,
        {
            "usages": {
                ctype: {"consumer_count": u.consumer_count, **dict(sorted(u.resources.items()))}
                for ctype, u in sorted(by_type.items())
            }
        },
    )
