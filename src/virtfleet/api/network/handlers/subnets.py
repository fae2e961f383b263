"""``/v2.0/subnets``: list, create, show, update, delete."""

from __future__ import annotations

import webob

from virtfleet.api.network import common
from virtfleet.api.network.views import subnet_view
from virtfleet.api.wsgi import Request, json_response
from virtfleet.network.service import NetworkService


def index(service: NetworkService, req: Request) -> webob.Response:
    """GET /v2.0/subnets: subnets of the networks the caller sees."""
    views = [subnet_view(s) for s in service.list_subnets(common.caller(req))]
    return common.listing(req, "subnets", views)


def create(service: NetworkService, req: Request) -> webob.Response:
    """POST /v2.0/subnets: an IPv4 or IPv6 subnet of a network."""
    created = service.create_subnet(common.caller(req), common.resource_body(req, "subnet"))
    return common.one(req, "subnet", subnet_view(created), status=201)


def show(service: NetworkService, req: Request, subnet_id: str) -> webob.Response:
    """GET /v2.0/subnets/{id}: one subnet."""
    return common.one(req, "subnet", subnet_view(service.get_subnet(common.caller(req), subnet_id)))


def update(service: NetworkService, req: Request, subnet_id: str) -> webob.Response:
    """PUT /v2.0/subnets/{id}: name, description, DHCP, DNS servers."""
    body = common.resource_body(req, "subnet")
    return common.one(
        req, "subnet", subnet_view(service.update_subnet(common.caller(req), subnet_id, body))
    )


def delete(service: NetworkService, req: Request, subnet_id: str) -> webob.Response:
    """DELETE /v2.0/subnets/{id}: 409 while ports hold its addresses."""
    service.delete_subnet(common.caller(req), subnet_id)
    return json_response(None, status=204)
