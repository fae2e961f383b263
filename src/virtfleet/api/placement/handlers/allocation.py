"""/allocations/{consumer_uuid}, POST /allocations (1.13) and
/resource_providers/{uuid}/allocations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import webob

from virtfleet.api.placement import inputs, responses
from virtfleet.api.placement.microversion import require, since
from virtfleet.api.placement.schemas import allocation as schema
from virtfleet.api.wsgi import HTTPError, Request
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import ConsumerRequest

# Project and user recorded for consumers written before 1.8 (which had neither).
INCOMPLETE_CONSUMER_ID = "00000000-0000-0000-0000-000000000000"

# Body schema of PUT /allocations/{consumer_uuid}, newest first.
_PUT_SCHEMAS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("1.38", schema.PUT_V1_38_MAPPED),
    ("1.34", schema.PUT_V1_34),
    ("1.28", schema.PUT_V1_28),
    ("1.12", schema.PUT_V1_12),
    ("1.8", schema.PUT_V1_8),
    ("1.0", schema.PUT_V1_0),
)
# Body schema of POST /allocations, newest first.
_POST_SCHEMAS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("1.38", schema.POST_V1_38),
    ("1.34", schema.POST_V1_34),
    ("1.28", schema.POST_V1_28),
    ("1.13", schema.POST_V1_13),
)


def _pick(req: Request, table: tuple[tuple[str, dict[str, Any]], ...]) -> dict[str, Any]:
    return next(s for version, s in table if since(req, version))


def show_consumer(svc: PlacementService, req: Request, consumer_uuid: str) -> webob.Response:
    """GET /allocations/{consumer_uuid}: an empty dict when it has none."""
    found = svc.get_consumer_allocations(consumer_uuid)
    body: dict[str, Any] = {
        "allocations": {
            rp: {"generation": a.generation, "resources": dict(a.resources)}
            for rp, a in sorted(found.allocations.items())
        }
    }
    if found.allocations and since(req, "1.12"):
        body["project_id"] = found.project_id
        body["user_id"] = found.user_id
    if found.allocations and since(req, "1.28"):
        body["consumer_generation"] = found.consumer_generation
    if found.allocations and since(req, "1.38"):
        body["consumer_type"] = found.consumer_type
    return responses.respond(req, body)


def _wanted(req: Request, allocations: Any) -> dict[str, dict[str, int]]:
    """{rp_uuid: {rc: amount}} from either body format; a provider listed twice
    (1.0 list form) is a 400."""
    if isinstance(allocations, list):
        result: dict[str, dict[str, int]] = {}
        for item in allocations:
            rp = item["resource_provider"]["uuid"]
            if rp in result:
                raise HTTPError(400, f"Allocation for resource provider {rp} appears twice.")
            result[rp] = dict(item["resources"])
        return result
    return {rp: dict(item["resources"]) for rp, item in allocations.items()}


def consumer_request(
    svc: PlacementService, req: Request, consumer_uuid: str, data: Mapping[str, Any]
) -> ConsumerRequest:
    """What the body asks for one consumer; before 1.28 generations are not checked
    (the current one is used), before 1.8 project and user are placeholders."""
    if since(req, "1.28"):
        generation = data["consumer_generation"]
    else:
        generation = svc.get_consumer_allocations(consumer_uuid).consumer_generation
    return ConsumerRequest(
        allocations=_wanted(req, data["allocations"]),
        project_id=data.get("project_id", INCOMPLETE_CONSUMER_ID),
        user_id=data.get("user_id", INCOMPLETE_CONSUMER_ID),
        consumer_generation=generation,
        consumer_type=data.get("consumer_type"),
    )


def replace_consumer(svc: PlacementService, req: Request, consumer_uuid: str) -> webob.Response:
    """PUT /allocations/{consumer_uuid}: replace all of the consumer's allocations."""
    data = inputs.body(req, _pick(req, _PUT_SCHEMAS))
    wanted = consumer_request(svc, req, consumer_uuid, data)
    svc.replace_allocations(
        consumer_uuid,
        wanted.allocations,
        wanted.project_id,
        wanted.user_id,
        wanted.consumer_generation,
        consumer_type=wanted.consumer_type,
    )
    return responses.no_content()


def replace_many(svc: PlacementService, req: Request) -> webob.Response:
    """POST /allocations (1.13): several consumers at once, all or nothing."""
    require(req, "1.13")
    data = inputs.body(req, _pick(req, _POST_SCHEMAS))
    requests = {
        consumer: consumer_request(svc, req, consumer, item) for consumer, item in data.items()
    }
    svc.replace_many(requests)
    return responses.no_content()


def delete_consumer(svc: PlacementService, req: Request, consumer_uuid: str) -> webob.Response:
    """DELETE /allocations/{consumer_uuid}: 404 when it has none."""
    svc.delete_allocations(consumer_uuid)
    return responses.no_content()


def list_provider_allocations(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """GET /resource_providers/{uuid}/allocations."""
    found = svc.get_provider_allocations(uuid)
    return responses.respond(
        req,
        {
            "allocations": {
                consumer: {"resources": dict(c.resources)}
                for consumer, c in sorted(found.consumers.items())
            },
            "resource_provider_generation": found.generation,
        },
    )
