"""A flavor's extra specs (``/flavors/{id}/os-extra_specs``): list and show for
everyone, create, update and delete for administrators."""

from __future__ import annotations

import webob

from virtfleet.api.compute import access
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import flavor as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import flavors


def index(deps: ComputeDeps, req: Request, flavor_id: str) -> webob.Response:
    """GET /flavors/{id}/os-extra_specs: every extra spec of the flavor."""
    flavor = flavors.get(deps.db, flavor_id)
    return json_response({"extra_specs": dict(flavor.extra_specs)})


def create(deps: ComputeDeps, req: Request, flavor_id: str) -> webob.Response:
    """POST /flavors/{id}/os-extra_specs (admin): add or replace specs (validated)."""
    access.require_admin(req, "os_compute_api:os-flavor-extra-specs:create")
    body = req.json_body_or_400()
    validate_body(req, body, schema.SPECS_CREATE)
    specs = _specs(body["extra_specs"])
    flavors.set_extra_specs(deps.db, flavor_id, specs)
    return json_response({"extra_specs": specs})


def show(deps: ComputeDeps, req: Request, flavor_id: str, key: str) -> webob.Response:
    """GET /flavors/{id}/os-extra_specs/{key}: one extra spec."""
    flavor = flavors.get(deps.db, flavor_id)
    if key not in flavor.extra_specs:
        raise HTTPError(404, f"Flavor {flavor_id} does not have extra spec {key}.")
    return json_response({key: flavor.extra_specs[key]})


def update(deps: ComputeDeps, req: Request, flavor_id: str, key: str) -> webob.Response:
    """PUT /flavors/{id}/os-extra_specs/{key} (admin): set one extra spec."""
    access.require_admin(req, "os_compute_api:os-flavor-extra-specs:update")
    body = req.json_body_or_400()
    if isinstance(body, dict) and len(body) == 1 and key not in body:
        raise HTTPError(
            400,
            f"Request body and URI mismatch: the URI names {key!r}, the body {next(iter(body))!r}.",
        )
    validate_body(req, body, schema.SPECS_UPDATE)
    specs = _specs(body)
    flavors.set_extra_specs(deps.db, flavor_id, specs)
    return json_response(specs)


def delete(deps: ComputeDeps, req: Request, flavor_id: str, key: str) -> webob.Response:
    """DELETE /flavors/{id}/os-extra_specs/{key} (admin)."""
    access.require_admin(req, "os_compute_api:os-flavor-extra-specs:delete")
    flavors.delete_extra_spec(deps.db, flavor_id, key)
    return json_response(None, status=200)


def _specs(body: dict[str, object]) -> dict[str, str]:
    """The specs as strings (numbers become strings, as Nova accepts them)."""
    return {key: str(value) for key, value in body.items()}
