"""``/v2.0/quotas/{project_id}``: a project's Networking quotas as Neutron shows them
(``openstack quota show`` asks for them when a network service is in the catalog).

virtfleet does not limit Networking resources: every limit is -1 (unlimited), with the
project's networks, subnets and ports as usage.
"""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api import caller as calling
from virtfleet.api.wsgi import Request, json_response
from virtfleet.network.records import Caller
from virtfleet.network.service import NetworkService

UNLIMITED = -1
RESOURCES = (
    "network",
    "subnet",
    "port",
    "router",
    "floatingip",
    "security_group",
    "security_group_rule",
    "subnetpool",
    "rbac_policy",
)


def _usage(service: NetworkService, project_id: str) -> dict[str, int]:
    caller = Caller(project_id, False)
    return {
        "network": sum(n.project_id == project_id for n in service.list_networks(caller)),
        "subnet": sum(s.project_id == project_id for s in service.list_subnets(caller)),
        "port": sum(p.project_id == project_id for p in service.list_ports(caller)),
    }


def _target(req: Request, project_id: str) -> None:
    calling.authorize(req, "get_quota", {"project_id": project_id})


def show(service: NetworkService, req: Request, project_id: str) -> webob.Response:
    """GET /v2.0/quotas/{project_id}: the limits (-1: unlimited)."""
    _target(req, project_id)
    return json_response({"quota": dict.fromkeys(RESOURCES, UNLIMITED)})


def details(service: NetworkService, req: Request, project_id: str) -> webob.Response:
    """GET /v2.0/quotas/{project_id}/details: limits with usage."""
    _target(req, project_id)
    used = _usage(service, project_id)
    body: dict[str, Any] = {
        name: {"limit": UNLIMITED, "used": used.get(name, 0), "reserved": 0} for name in RESOURCES
    }
    return json_response({"quota": body})


def default(service: NetworkService, req: Request, project_id: str) -> webob.Response:
    """GET /v2.0/quotas/{project_id}/default: the defaults (-1: unlimited)."""
    return json_response({"quota": dict.fromkeys(RESOURCES, UNLIMITED)})
