"""/resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import webob

from virtfleet.api.placement import inputs, responses, views
from virtfleet.api.placement.microversion import since
from virtfleet.api.placement.schemas import inventory as schema
from virtfleet.api.placement.schemas.common import MAX_INT
from virtfleet.api.wsgi import HTTPError, Request
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory

# Values of the fields a request leaves out.
DEFAULTS: Mapping[str, Any] = {
    "reserved": 0,
    "min_unit": 1,
    "max_unit": MAX_INT,
    "step_size": 1,
    "allocation_ratio": 1.0,
}


def make_inventory(req: Request, uuid: str, rc: str, fields: Mapping[str, Any]) -> Inventory:
    """An Inventory from request fields; reserved must stay below total (or equal
    it from 1.26)."""
    values = {**DEFAULTS, **{k: v for k, v in fields.items() if k in views.INVENTORY_FIELDS}}
    total, reserved = values["total"], values["reserved"]
    too_big = reserved > total if since(req, "1.26") else reserved >= total
    if too_big:
        bound = "greater than" if since(req, "1.26") else "greater than or equal to"
        raise HTTPError(
            400,
            f"Unable to update inventory for resource provider {uuid}: invalid inventory "
            f"of {rc}: reserved ({reserved}) must not be {bound} total ({total}).",
        )
    if values["min_unit"] > values["max_unit"]:
        raise HTTPError(
            400,
            f"Unable to update inventory for resource provider {uuid}: invalid inventory "
            f"of {rc}: min_unit ({values['min_unit']}) is greater than max_unit "
            f"({values['max_unit']}).",
        )
    return Inventory(**values)


def _one(generation: int, inv: Inventory) -> dict[str, Any]:
    return {"resource_provider_generation": generation, **views.inventory(inv)}


def _all(generation: int, inventories: Mapping[str, Inventory]) -> dict[str, Any]:
    return {
        "resource_provider_generation": generation,
        "inventories": {rc: views.inventory(inv) for rc, inv in sorted(inventories.items())},
    }


def list_inventories(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """GET .../inventories."""
    generation, inventories = svc.get_inventories(uuid)
    return responses.respond(req, _all(generation, inventories))


def replace_inventories(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """PUT .../inventories: the provider's whole inventory becomes the body's."""
    data = inputs.body(req, schema.PUT_ALL)
    wanted = {
        rc: make_inventory(req, uuid, rc, fields) for rc, fields in data["inventories"].items()
    }
    generation = svc.set_inventories(uuid, data["resource_provider_generation"], wanted)
    return responses.respond(req, _all(generation, wanted))


def create_inventory(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """POST .../inventories: add one resource class (409 when it exists)."""
    data = inputs.body(req, schema.POST_ONE)
    rc = data["resource_class"]
    _, inventories = svc.get_inventories(uuid)
    if rc in inventories:
        raise HTTPError(409, f"Resource provider {uuid} already has an inventory of {rc}; use PUT.")
    wanted = make_inventory(req, uuid, rc, data)
    current = data.get("resource_provider_generation")
    generation = svc.set_inventory(uuid, current, rc, wanted)
    location = responses.app_url(req, f"/resource_providers/{uuid}/inventories/{rc}")
    return responses.respond(req, _one(generation, wanted), status=201, location=location)


def show_inventory(
    svc: PlacementService, req: Request, uuid: str, resource_class: str
) -> webob.Response:
    """GET .../inventories/{rc}."""
    generation, inventories = svc.get_inventories(uuid)
    if resource_class not in inventories:
        raise HTTPError(
            404, f"No inventory of class {resource_class} for resource provider {uuid}."
        )
    return responses.respond(req, _one(generation, inventories[resource_class]))


def update_inventory(
    svc: PlacementService, req: Request, uuid: str, resource_class: str
) -> webob.Response:
    """PUT .../inventories/{rc}: replace one resource class (400 when the provider
    has no inventory of it; POST adds one)."""
    data = inputs.body(req, schema.PUT_ONE)
    wanted = make_inventory(req, uuid, resource_class, data)
    _, inventories = svc.get_inventories(uuid)
    if resource_class not in inventories:
        raise HTTPError(
            400,
            f"No inventory record with resource class {resource_class} for resource "
            f"provider {uuid}; add it with POST or PUT .../inventories.",
        )
    generation = svc.set_inventory(
        uuid, data["resource_provider_generation"], resource_class, wanted
    )
    return responses.respond(req, _one(generation, wanted))


def delete_inventory(
    svc: PlacementService, req: Request, uuid: str, resource_class: str
) -> webob.Response:
    """DELETE .../inventories/{rc}: 409 while allocations use it."""
    generation, inventories = svc.get_inventories(uuid)
    if resource_class not in inventories:
        raise HTTPError(
            404, f"No inventory of class {resource_class} for resource provider {uuid}."
        )
    svc.delete_inventory(uuid, generation, resource_class)
    return responses.no_content()


def delete_inventories(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """DELETE .../inventories (1.5): remove every inventory; 409 while any is in use
    (405 before 1.5, as upstream)."""
    if not since(req, "1.5"):
        raise HTTPError(405, "DELETE of all inventories needs placement microversion 1.5.")
    generation, _ = svc.get_inventories(uuid)
    svc.delete_inventories(uuid, generation)
    return responses.no_content()
