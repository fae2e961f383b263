"""A flavor's extra specs (``/flavors/{id}/os-extra_specs``): list and show for
everyone, create, update and delete for administrators."""

from __future__ import annotations

import re
from typing import Any

import webob

from virtfleet.api.compute import common
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import flavors

SPEC_KEY = re.compile(r"[\w.:\- ]{1,255}")


def index(deps: ComputeDeps, req: Request, flavor_id: str) -> webob.Response:
    """GET /flavors/{id}/os-extra_specs: every extra spec of the flavor."""
    flavor = flavors.get(deps.db, flavor_id)
    return json_response({"extra_specs": dict(flavor.extra_specs)})


def create(deps: ComputeDeps, req: Request, flavor_id: str) -> webob.Response:
    """POST /flavors/{id}/os-extra_specs (admin): add or replace specs (validated)."""
    common.require_admin(req, "os_compute_api:os-flavor-extra-specs:create")
    specs = _specs(common.object_body(req, "extra_specs"))
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
    common.require_admin(req, "os_compute_api:os-flavor-extra-specs:update")
    body = req.json_body_or_400()
    if not isinstance(body, dict) or len(body) != 1:
        raise HTTPError(
            400,
            "Invalid input: the body must be an object with exactly one "
            "key, the extra spec being set.",
        )
    if key not in body:
        raise HTTPError(
            400,
            f"Request body and URI mismatch: the URI names {key!r}, the body {next(iter(body))!r}.",
        )
    specs = _specs(body)
    flavors.set_extra_specs(deps.db, flavor_id, specs)
    return json_response(specs)


def delete(deps: ComputeDeps, req: Request, flavor_id: str, key: str) -> webob.Response:
    """DELETE /flavors/{id}/os-extra_specs/{key} (admin)."""
    common.require_admin(req, "os_compute_api:os-flavor-extra-specs:delete")
    flavors.delete_extra_spec(deps.db, flavor_id, key)
    return json_response(None, status=200)


def _specs(body: dict[str, Any]) -> dict[str, str]:
    """Keys checked for shape; numbers become strings (as Nova accepts them)."""
    specs: dict[str, str] = {}
    for key, value in body.items():
        if not SPEC_KEY.fullmatch(key):
            raise HTTPError(
                400,
                f"Invalid extra spec key {key!r}: use 1-255 letters, digits, "
                "'_', '-', '.', ':' and spaces.",
            )
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise HTTPError(
                400, f"Invalid extra spec {key}={value!r}: values must be strings or numbers."
            )
        text = str(value)
        if len(text) > 255:
            raise HTTPError(
                400, f"Invalid extra spec {key}: the value is longer than 255 characters."
            )
        specs[key] = text
    return specs
