"""``/v2.0/networks``: list, create, show, update, delete."""

from __future__ import annotations

import webob

from virtfleet.api.network import common
from virtfleet.api.network.views import network_view
from virtfleet.api.wsgi import Request, json_response
from virtfleet.network.service import NetworkService


def index(service: NetworkService, req: Request) -> webob.Response:
    """GET /v2.0/networks: the networks the caller sees (own, shared; all for admins)."""
    caller = common.caller(req)
    views = [network_view(caller, n) for n in service.list_networks(caller)]
    return common.listing(req, "networks", views)


def create(service: NetworkService, req: Request) -> webob.Response:
    """POST /v2.0/networks: a project network (VXLAN) or, for admins, a provider one."""
    caller = common.caller(req)
    created = service.create_network(caller, common.resource_body(req, "network"))
    return common.one(req, "network", network_view(caller, created), status=201)


def show(service: NetworkService, req: Request, network_id: str) -> webob.Response:
    """GET /v2.0/networks/{id}: one network."""
    caller = common.caller(req)
    return common.one(req, "network", network_view(caller, service.get_network(caller, network_id)))


def update(service: NetworkService, req: Request, network_id: str) -> webob.Response:
    """PUT /v2.0/networks/{id}: name, description, admin state, port security, shared."""
    caller = common.caller(req)
    body = common.resource_body(req, "network")
    return common.one(
        req, "network", network_view(caller, service.update_network(caller, network_id, body))
    )


def delete(service: NetworkService, req: Request, network_id: str) -> webob.Response:
    """DELETE /v2.0/networks/{id}: 409 while ports of servers use it."""
    service.delete_network(common.caller(req), network_id)
    return json_response(None, status=204)
