"""POST /reshaper (1.30): move inventories and the allocations on them at once, as
Nova does when a class of inventory moves from a root provider to new children."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.placement import inputs, responses
from virtfleet.api.placement.handlers.allocation import consumer_request
from virtfleet.api.placement.handlers.inventory import make_inventory
from virtfleet.api.placement.microversion import require, since
from virtfleet.api.placement.schemas import reshaper as schema
from virtfleet.api.wsgi import Request
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory

# Body schema by version, newest first.
_SCHEMAS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("1.38", schema.POST_V1_38),
    ("1.34", schema.POST_V1_34),
    ("1.30", schema.POST_V1_30),
)


def reshape(svc: PlacementService, req: Request) -> webob.Response:
    """Replace the listed providers' inventories and the listed consumers'
    allocations in one transaction: 204, or nothing changed (400 for bad input, 409
    for a stale provider or consumer generation, a class still in use, or an
    allocation that does not fit)."""
    require(req, "1.30")
    data = inputs.body(req, next(s for version, s in _SCHEMAS if since(req, version)))
    inventories: dict[str, tuple[int, dict[str, Inventory]]] = {}
    for uuid, provider in data["inventories"].items():
        wanted = {
            rc: make_inventory(req, uuid, rc, fields)
            for rc, fields in provider["inventories"].items()
        }
        inventories[uuid] = (provider["resource_provider_generation"], wanted)
    allocations = {
        consumer: consumer_request(svc, req, consumer, item)
        for consumer, item in data["allocations"].items()
    }
    svc.reshape(inventories, allocations)
    return responses.no_content()
