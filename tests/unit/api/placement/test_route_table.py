"""The public surface and the one route table."""

from __future__ import annotations

import re

import virtfleet.api.placement as placement_api
from support.route_tables import check_route_table
from virtfleet.api.placement.routes import ROUTES
from virtfleet.api.wsgi import Router
from virtfleet.placement.service import PlacementService

from .conftest import Client

# Every path of the Placement API reference that virtfleet serves, with its methods.
EXPECTED = {
    "/": {"GET"},
    "/resource_providers": {"GET", "POST"},
    "/resource_providers/{uuid}": {"GET", "PUT", "DELETE"},
    "/resource_providers/{uuid}/inventories": {"GET", "PUT", "POST", "DELETE"},
    "/resource_providers/{uuid}/inventories/{resource_class}": {"GET", "PUT", "DELETE"},
    "/resource_providers/{uuid}/aggregates": {"GET", "PUT"},
    "/resource_providers/{uuid}/traits": {"GET", "PUT", "DELETE"},
    "/resource_providers/{uuid}/usages": {"GET"},
    "/resource_providers/{uuid}/allocations": {"GET"},
    "/usages": {"GET"},
    "/resource_classes": {"GET", "POST"},
    "/resource_classes/{name}": {"GET", "PUT", "DELETE"},
    "/traits": {"GET"},
    "/traits/{name}": {"GET", "PUT", "DELETE"},
    "/allocations": {"POST"},
    "/reshaper": {"POST"},
    "/allocations/{consumer_uuid}": {"GET", "PUT", "DELETE"},
    "/allocation_candidates": {"GET"},
}


def test_public_surface_is_make_app(service: PlacementService) -> None:
    assert placement_api.__all__ == ["make_app"]
    assert isinstance(placement_api.make_app(service), Router)


def test_route_table_matches_the_reference() -> None:
    served: dict[str, set[str]] = {}
    for method, path, _, _ in ROUTES:
        assert method not in served.get(path, set()), f"duplicate route {method} {path}"
        served.setdefault(path, set()).add(method)
    assert served == EXPECTED


def test_every_route_has_a_handler_a_policy_and_is_reachable() -> None:
    check_route_table(ROUTES, re.compile(r"placement(:[a-z_]+)+"))


def test_every_handler_says_what_it_does() -> None:
    for method, path, handler, _ in ROUTES:
        assert handler.__doc__, f"{method} {path} handler has no docstring"


def test_head_is_answered_like_get(client: Client) -> None:
    reply = client.request("HEAD", "/resource_providers")
    assert reply.status == 200
    assert reply.text == ""
