"""How a flavor looks in the Compute API, per microversion."""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views import links
from virtfleet.api.wsgi import Request
from virtfleet.db.flavors import Flavor


def flavor_view(req: Request, flavor: Flavor, detail: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": flavor.id,
        "name": flavor.name,
        "links": links.links(req, "flavors", flavor.id),
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
