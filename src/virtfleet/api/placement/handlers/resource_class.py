"""/resource_classes[/{name}] (from 1.2)."""

from __future__ import annotations

import re

import webob

from virtfleet.api.placement import inputs, responses, views
from virtfleet.api.placement.microversion import require, since
from virtfleet.api.placement.schemas import resource_class as schema
from virtfleet.api.placement.schemas.common import CUSTOM_RESOURCE_CLASS
from virtfleet.api.wsgi import HTTPError, Request
from virtfleet.placement.service import PlacementService

_CUSTOM = re.compile(CUSTOM_RESOURCE_CLASS["pattern"])


def list_classes(svc: PlacementService, req: Request) -> webob.Response:
    """GET /resource_classes: standard and custom classes."""
    require(req, "1.2")
    names = svc.list_resource_classes()
    return responses.respond(
        req, {"resource_classes": [views.resource_class(req, n) for n in names]}
    )


def create_class(svc: PlacementService, req: Request) -> webob.Response:
    """POST /resource_classes: a new CUSTOM_ class (409 when it exists)."""
    require(req, "1.2")
    data = inputs.body(req, schema.NAMED)
    svc.create_resource_class(data["name"])
    location = responses.app_url(req, f"/resource_classes/{data['name']}")
    return responses.respond(req, None, status=201, location=location)


def show_class(svc: PlacementService, req: Request, name: str) -> webob.Response:
    """GET /resource_classes/{name}."""
    require(req, "1.2")
    return responses.respond(req, views.resource_class(req, svc.get_resource_class(name)))


def put_class(svc: PlacementService, req: Request, name: str) -> webob.Response:
    """PUT /resource_classes/{name}: before 1.7 a rename of a custom class (200 with
    the new one; its inventories and allocations follow); from 1.7 create-or-verify
    without a body (201 created, 204 existed)."""
    require(req, "1.2")
    if not since(req, "1.7"):
        new_name = inputs.body(req, schema.NAMED)["name"]
        svc.rename_resource_class(name, new_name)
        return responses.respond(req, views.resource_class(req, new_name))
    if not _CUSTOM.match(name):
        raise HTTPError(
            400, f"The resource class {name} is invalid: must match ^CUSTOM_[A-Z0-9_]+$."
        )
    created = svc.ensure_resource_class(name)
    resp = responses.respond(req, None, status=201) if created else responses.no_content()
    resp.headers["Location"] = responses.app_url(req, f"/resource_classes/{name}")
    return resp


def delete_class(svc: PlacementService, req: Request, name: str) -> webob.Response:
    """DELETE /resource_classes/{name}: custom classes without inventory only."""
    require(req, "1.2")
    svc.delete_resource_class(name)
    return responses.no_content()
