"""Flavors (``/flavors``): list, detail, show, and create, update, delete (admin)."""

from __future__ import annotations

import math
from typing import Any

import webob

from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import flavor as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views.flavors import flavor_view
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import flavors


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /flavors: id, name and links of the flavors the caller may see."""
    return _list(deps, req, detail=False)


def detail(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /flavors/detail: the flavors the caller may see, in full."""
    return _list(deps, req, detail=True)


def _list(deps: ComputeDeps, req: Request, detail: bool) -> webob.Response:
    found = flavors.list_flavors(deps.db, is_public=_is_public_filter(req))
    if "minRam" in req.GET:
        min_ram = field_checks.integer("minRam", req.GET["minRam"], 0)
        found = [f for f in found if f.memory_mb >= min_ram]
    if "minDisk" in req.GET:
        min_disk = field_checks.integer("minDisk", req.GET["minDisk"], 0)
        found = [f for f in found if f.root_gb >= min_disk]
    marker = req.GET.get("marker")
    if marker is not None:
        ids = [f.id for f in found]
        if marker not in ids:
            raise HTTPError(400, f"marker [{marker}] not found")
        found = found[ids.index(marker) + 1 :]
    if "limit" in req.GET:
        found = found[: field_checks.integer("limit", req.GET["limit"], 0)]
    return json_response({"flavors": [flavor_view(req, f, detail) for f in found]})


def show(deps: ComputeDeps, req: Request, flavor_id: str) -> webob.Response:
    """GET /flavors/{id}: one flavor in full."""
    return json_response({"flavor": flavor_view(req, flavors.get(deps.db, flavor_id))})


def create(deps: ComputeDeps, req: Request) -> webob.Response:
    """POST /flavors (admin): a new flavor; 409 when the name or id is taken."""
    access.require_admin(req, "os_compute_api:os-flavor-manage:create")
    raw = req.json_body_or_400()
    validate_body(req, raw, schema.CREATE)
    body: dict[str, Any] = raw["flavor"]
    flavor_id = body.get("id")
    flavor = flavors.create(
        deps.db,
        name=body["name"].strip(),
        memory_mb=field_checks.integer("ram", body["ram"], 1, field_checks.MAX_INT),
        vcpus=field_checks.integer("vcpus", body["vcpus"], 1, field_checks.MAX_INT),
        root_gb=field_checks.integer("disk", body.get("disk", 0), 0, field_checks.MAX_INT),
        ephemeral_gb=field_checks.integer(
            "OS-FLV-EXT-DATA:ephemeral",
            body.get("OS-FLV-EXT-DATA:ephemeral", 0),
            0,
            field_checks.MAX_INT,
        ),
        swap=field_checks.integer("swap", body.get("swap") or 0, 0, field_checks.MAX_INT),
        rxtx_factor=_rxtx(body.get("rxtx_factor", 1.0)),
        is_public=field_checks.boolean(
            "os-flavor-access:is_public", body.get("os-flavor-access:is_public", True)
        ),
        description=body.get("description"),
        flavor_id=None if flavor_id is None else str(flavor_id),
    )
    return json_response({"flavor": flavor_view(req, flavor)})


def update(deps: ComputeDeps, req: Request, flavor_id: str) -> webob.Response:
    """PUT /flavors/{id} (admin, 2.55): change the flavor's description."""
    access.require_admin(req, "os_compute_api:os-flavor-manage:update")
    if not at_least(req, "2.55"):
        raise HTTPError(405, "Updating a flavor needs microversion 2.55 or later.")
    body = req.json_body_or_400()
    validate_body(req, body, schema.UPDATE)
    flavor = flavors.update_description(deps.db, flavor_id, body["flavor"]["description"])
    return json_response({"flavor": flavor_view(req, flavor)})


def delete(deps: ComputeDeps, req: Request, flavor_id: str) -> webob.Response:
    """DELETE /flavors/{id} (admin)."""
    access.require_admin(req, "os_compute_api:os-flavor-manage:delete")
    flavors.delete(deps.db, flavor_id)
    return json_response(None, status=202)


def _is_public_filter(req: Request) -> bool | None:
    value = req.GET.get("is_public")
    if value is None:
        return None if access.is_admin(req) else True
    if value.lower() == "none":
        return None
    return field_checks.boolean("is_public", value)


def _rxtx(value: Any) -> float:
    """The factor of a number or numeric string (the schema checked the type)."""
    try:
        factor = float(value)
    except ValueError:
        raise HTTPError(
            400, f"Invalid input for field/attribute rxtx_factor. Value: {value!r}."
        ) from None
    if not math.isfinite(factor) or factor <= 0:
        raise HTTPError(
            400,
            f"Invalid input for field/attribute rxtx_factor. Value: {value!r}. "
            "Expected a finite number > 0.",
        )
    return factor
