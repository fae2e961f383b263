"""How placement values look in responses, per microversion."""

from __future__ import annotations

from typing import Any

from virtfleet.api.placement.microversion import since
from virtfleet.api.placement.responses import app_url
from virtfleet.api.wsgi import Request
from virtfleet.placement.types import Inventory, Provider

# Links of a provider: the version that added it, and its relation.
PROVIDER_LINKS: tuple[tuple[str, str], ...] = (
    ("1.0", "inventories"),
    ("1.0", "usages"),
    ("1.1", "aggregates"),
    ("1.6", "traits"),
    ("1.11", "allocations"),
)

INVENTORY_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")


def provider_url(req: Request, uuid: str) -> str:
    return app_url(req, f"/resource_providers/{uuid}")


def provider(req: Request, rp: Provider) -> dict[str, Any]:
    """One resource provider as GET /resource_providers/{uuid} shows it."""
    url = provider_url(req, rp.uuid)
    links = [{"rel": "self", "href": url}]
    links += [{"rel": rel, "href": f"{url}/{rel}"} for v, rel in PROVIDER_LINKS if since(req, v)]
    body: dict[str, Any] = {
        "uuid": rp.uuid,
        "name": rp.name,
        "generation": rp.generation,
        "links": links,
    }
    if since(req, "1.14"):
        body["parent_provider_uuid"] = rp.parent_uuid
        body["root_provider_uuid"] = rp.root_uuid
    return body


def inventory(inv: Inventory) -> dict[str, Any]:
    """One inventory record (without the provider generation)."""
    return {name: getattr(inv, name) for name in INVENTORY_FIELDS}


def resource_class(req: Request, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "links": [{"rel": "self", "href": app_url(req, f"/resource_classes/{name}")}],
    }
