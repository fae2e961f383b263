"""``/v2.0/ports``: list, create, show, update, delete."""

from __future__ import annotations

import webob

from virtfleet.api.network import common
from virtfleet.api.network.views import port_view
from virtfleet.api.wsgi import Request, json_response
from virtfleet.network.service import NetworkService


def index(service: NetworkService, req: Request) -> webob.Response:
    """GET /v2.0/ports: the caller's ports (all for admins), filtered."""
    views = [port_view(p) for p in service.list_ports(common.caller(req))]
    return common.listing(req, "ports", views)


def create(service: NetworkService, req: Request) -> webob.Response:
    """POST /v2.0/ports: a port with a MAC and fixed addresses (given or allocated)."""
    created = service.create_port(common.caller(req), common.resource_body(req, "port"))
    return common.one(req, "port", port_view(created), status=201)


def show(service: NetworkService, req: Request, port_id: str) -> webob.Response:
    """GET /v2.0/ports/{id}: one port."""
    return common.one(req, "port", port_view(service.get_port(common.caller(req), port_id)))


def update(service: NetworkService, req: Request, port_id: str) -> webob.Response:
    """PUT /v2.0/ports/{id}: name, device, binding, security groups, port security."""
    body = common.resource_body(req, "port")
    return common.one(
        req, "port", port_view(service.update_port(common.caller(req), port_id, body))
    )


def delete(service: NetworkService, req: Request, port_id: str) -> webob.Response:
    """DELETE /v2.0/ports/{id}: the port and its addresses."""
    service.delete_port(common.caller(req), port_id)
    return json_response(None, status=204)
