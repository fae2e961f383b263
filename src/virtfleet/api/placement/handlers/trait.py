"""/traits[/{name}] and /resource_providers/{uuid}/traits (all from 1.6)."""

from __future__ import annotations

import re

import webob

from virtfleet.api.placement import inputs, responses
from virtfleet.api.placement.microversion import require
from virtfleet.api.placement.schemas import trait as schema
from virtfleet.api.placement.schemas.common import CUSTOM_TRAIT
from virtfleet.api.wsgi import HTTPError, Request
from virtfleet.placement.service import PlacementService

_CUSTOM = re.compile(CUSTOM_TRAIT["pattern"])


def list_traits(svc: PlacementService, req: Request) -> webob.Response:
    """GET /traits?name=in:A,B|startswith:P&associated=true|false."""
    require(req, "1.6")
    params = inputs.query(req, schema.LIST)
    associated = params.get("associated")
    names = svc.list_traits(
        name_filter=params.get("name"),
        associated=None if associated is None else associated == "true",
    )
    return responses.respond(req, {"traits": sorted(names)})


def show_trait(svc: PlacementService, req: Request, name: str) -> webob.Response:
    """GET /traits/{name}: 204 when it exists."""
    require(req, "1.6")
    if name not in svc.list_traits(name_filter=f"in:{name}"):
        raise HTTPError(404, f"No such trait(s): {name}.")
    return responses.no_content()


def create_trait(svc: PlacementService, req: Request, name: str) -> webob.Response:
    """PUT /traits/{name}: 201 when created, 204 when it already existed."""
    require(req, "1.6")
    if not _CUSTOM.match(name) or len(name) > CUSTOM_TRAIT["maxLength"]:
        raise HTTPError(
            400, f"The trait {name} is invalid: custom traits must match ^CUSTOM_[A-Z0-9_]+$."
        )
    created = svc.ensure_trait(name)
    location = responses.app_url(req, f"/traits/{name}")
    resp = responses.no_content() if not created else responses.respond(req, None, status=201)
    resp.headers["Location"] = location
    return resp


def delete_trait(svc: PlacementService, req: Request, name: str) -> webob.Response:
    """DELETE /traits/{name}: custom, unused traits only."""
    require(req, "1.6")
    svc.delete_trait(name)
    return responses.no_content()


def list_provider_traits(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """GET /resource_providers/{uuid}/traits."""
    require(req, "1.6")
    generation, traits = svc.get_provider_traits(uuid)
    return responses.respond(
        req, {"traits": sorted(traits), "resource_provider_generation": generation}
    )


def replace_provider_traits(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """PUT /resource_providers/{uuid}/traits: 400 for unknown traits, 409 on a stale
    generation."""
    require(req, "1.6")
    data = inputs.body(req, schema.PUT_PROVIDER_TRAITS)
    generation = svc.set_provider_traits(uuid, data["resource_provider_generation"], data["traits"])
    return responses.respond(
        req, {"traits": sorted(data["traits"]), "resource_provider_generation": generation}
    )


def delete_provider_traits(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """DELETE /resource_providers/{uuid}/traits."""
    require(req, "1.6")
    generation, _ = svc.get_provider_traits(uuid)
    svc.delete_provider_traits(uuid, generation)
    return responses.no_content()
