"""/resource_providers/{uuid}/aggregates (1.1; generations from 1.19)."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.placement import inputs, responses
from virtfleet.api.placement.microversion import require, since
from virtfleet.api.placement.schemas import aggregate as schema
from virtfleet.api.wsgi import Request
from virtfleet.placement.service import PlacementService


def _body(req: Request, generation: int, aggregates: set[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"aggregates": sorted(aggregates)}
    if since(req, "1.19"):
        body["resource_provider_generation"] = generation
    return body


def list_aggregates(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """GET .../aggregates."""
    require(req, "1.1")
    generation, aggregates = svc.get_provider_aggregates(uuid)
    return responses.respond(req, _body(req, generation, aggregates))


def replace_aggregates(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """PUT .../aggregates: a list before 1.19, then an object checked against the
    provider generation (409 when stale)."""
    require(req, "1.1")
    if since(req, "1.19"):
        data = inputs.body(req, schema.PUT_V1_19)
        wanted = data["aggregates"]
        generation = svc.set_provider_aggregates(uuid, data["resource_provider_generation"], wanted)
    else:
        wanted = inputs.body(req, schema.PUT_V1_1)
        generation = svc.set_provider_aggregates(uuid, None, wanted)
    return responses.respond(req, _body(req, generation, set(wanted)))
