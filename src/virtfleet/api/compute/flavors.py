"""Flavors and their extra specs (``/flavors``, ``/flavors/{id}/os-extra_specs``)."""

from __future__ import annotations

import math
import re
from typing import Any

import webob

from virtfleet.api.compute import common
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import flavors
from virtfleet.db.flavors import Flavor

CREATE_FIELDS = frozenset(
    {
        "name",
        "ram",
        "vcpus",
        "disk",
        "id",
        "swap",
        "rxtx_factor",
        "OS-FLV-EXT-DATA:ephemeral",
        "os-flavor-access:is_public",
        "description",
    }
)
SPEC_KEY = re.compile(r"[\w.:\- ]{1,255}")


def flavor_view(req: Request, flavor: Flavor, detail: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": flavor.id,
        "name": flavor.name,
        "links": common.links(req, "flavors", flavor.id),
    }
    if at_least(req, "2.55"):
        body["description"] = flavor.description
    if not detail:
        return body
    body.update(
        {
            "ram": flavor.memory_mb,
            "disk": flavor.root_gb,
            "vcpus": flavor.vcpus,
            "swap": flavor.swap if flavor.swap or at_least(req, "2.75") else "",
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": flavor.disabled,
            "os-flavor-access:is_public": flavor.is_public,
            "rxtx_factor": flavor.rxtx_factor,
        }
    )
    if at_least(req, "2.61"):
        body["extra_specs"] = dict(flavor.extra_specs)
    return body


class FlavorHandlers:
    def __init__(self, deps: ComputeDeps) -> None:
        self.db = deps.db

    def index(self, req: Request) -> webob.Response:
        return self._list(req, detail=False)

    def detail(self, req: Request) -> webob.Response:
        return self._list(req, detail=True)

    def _list(self, req: Request, detail: bool) -> webob.Response:
        found = flavors.list_flavors(self.db, is_public=_is_public_filter(req))
        if "minRam" in req.GET:
            min_ram = common.integer("minRam", req.GET["minRam"], 0)
            found = [f for f in found if f.memory_mb >= min_ram]
        if "minDisk" in req.GET:
            min_disk = common.integer("minDisk", req.GET["minDisk"], 0)
            found = [f for f in found if f.root_gb >= min_disk]
        marker = req.GET.get("marker")
        if marker is not None:
            ids = [f.id for f in found]
            if marker not in ids:
                raise HTTPError(400, f"marker [{marker}] not found")
            found = found[ids.index(marker) + 1 :]
        if "limit" in req.GET:
            found = found[: common.integer("limit", req.GET["limit"], 0)]
        return json_response({"flavors": [flavor_view(req, f, detail) for f in found]})

    def show(self, req: Request, flavor_id: str) -> webob.Response:
        return json_response({"flavor": flavor_view(req, flavors.get(self.db, flavor_id))})

    def create(self, req: Request) -> webob.Response:
        common.require_admin(req, "os_compute_api:os-flavor-manage:create")
        body = common.object_body(req, "flavor")
        allowed = CREATE_FIELDS if at_least(req, "2.55") else CREATE_FIELDS - {"description"}
        common.reject_unknown("flavor", body, allowed)
        if "name" not in body or "ram" not in body or "vcpus" not in body:
            raise HTTPError(
                400, "Invalid input for flavor: 'name', 'ram' and 'vcpus' are required."
            )
        flavor_id = body.get("id")
        if flavor_id is not None:
            if isinstance(flavor_id, bool) or not isinstance(flavor_id, str | int):
                raise HTTPError(
                    400,
                    f"Invalid input for field/attribute id. Value: "
                    f"{flavor_id!r}. Expected a string or integer.",
                )
            flavor_id = common.string("id", str(flavor_id))
            if not SPEC_KEY.fullmatch(flavor_id):
                raise HTTPError(
                    400,
                    f"Invalid flavor id {flavor_id!r}: use letters, digits, "
                    "'_', '-', '.', ':' and spaces.",
                )
        description = body.get("description")
        if description is not None:
            description = common.string("description", description, 65535, allow_empty=True)
        flavor = flavors.create(
            self.db,
            name=common.string("name", body["name"]).strip(),
            memory_mb=common.integer("ram", body["ram"], 1, common.MAX_INT),
            vcpus=common.integer("vcpus", body["vcpus"], 1, common.MAX_INT),
            root_gb=common.integer("disk", body.get("disk", 0), 0, common.MAX_INT),
            ephemeral_gb=common.integer(
                "OS-FLV-EXT-DATA:ephemeral",
                body.get("OS-FLV-EXT-DATA:ephemeral", 0),
                0,
                common.MAX_INT,
            ),
            swap=common.integer("swap", body.get("swap") or 0, 0, common.MAX_INT),
            rxtx_factor=_rxtx(body.get("rxtx_factor", 1.0)),
            is_public=common.boolean(
                "os-flavor-access:is_public", body.get("os-flavor-access:is_public", True)
            ),
            description=description,
            flavor_id=flavor_id,
        )
        return json_response({"flavor": flavor_view(req, flavor)})

    def update(self, req: Request, flavor_id: str) -> webob.Response:
        common.require_admin(req, "os_compute_api:os-flavor-manage:update")
        if not at_least(req, "2.55"):
            raise HTTPError(405, "Updating a flavor needs microversion 2.55 or later.")
        body = common.object_body(req, "flavor")
        common.reject_unknown("flavor", body, frozenset({"description"}))
        if "description" not in body:
            raise HTTPError(400, "Invalid input for flavor: 'description' is required.")
        description = body["description"]
        if description is not None:
            description = common.string("description", description, 65535, allow_empty=True)
        flavor = flavors.update_description(self.db, flavor_id, description)
        return json_response({"flavor": flavor_view(req, flavor)})

    def delete(self, req: Request, flavor_id: str) -> webob.Response:
        common.require_admin(req, "os_compute_api:os-flavor-manage:delete")
        flavors.delete(self.db, flavor_id)
        return json_response(None, status=202)

    # ------------------------------------------------------------- extra specs

    def list_specs(self, req: Request, flavor_id: str) -> webob.Response:
        flavor = flavors.get(self.db, flavor_id)
        return json_response({"extra_specs": dict(flavor.extra_specs)})

    def create_specs(self, req: Request, flavor_id: str) -> webob.Response:
        common.require_admin(req, "os_compute_api:os-flavor-extra-specs:create")
        specs = _specs(common.object_body(req, "extra_specs"))
        flavors.set_extra_specs(self.db, flavor_id, specs)
        return json_response({"extra_specs": specs})

    def show_spec(self, req: Request, flavor_id: str, key: str) -> webob.Response:
        flavor = flavors.get(self.db, flavor_id)
        if key not in flavor.extra_specs:
            raise HTTPError(404, f"Flavor {flavor_id} does not have extra spec {key}.")
        return json_response({key: flavor.extra_specs[key]})

    def update_spec(self, req: Request, flavor_id: str, key: str) -> webob.Response:
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
                f"Request body and URI mismatch: the URI names {key!r}, the "
                f"body {next(iter(body))!r}.",
            )
        specs = _specs(body)
        flavors.set_extra_specs(self.db, flavor_id, specs)
        return json_response(specs)

    def delete_spec(self, req: Request, flavor_id: str, key: str) -> webob.Response:
        common.require_admin(req, "os_compute_api:os-flavor-extra-specs:delete")
        flavors.delete_extra_spec(self.db, flavor_id, key)
        return json_response(None, status=200)


def _is_public_filter(req: Request) -> bool | None:
    value = req.GET.get("is_public")
    if value is None:
        return None if common.is_admin(req) else True
    if value.lower() == "none":
        return None
    return common.boolean("is_public", value)


def _rxtx(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise HTTPError(400, f"Invalid input for field/attribute rxtx_factor. Value: {value!r}.")
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
