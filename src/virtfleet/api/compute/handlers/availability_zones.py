"""``/os-availability-zone``: the zones named by aggregates' ``availability_zone``
metadata, and the default zone (``nova``) of the hosts in no zone; the detail
(admin) lists each zone's hosts with their compute service's state."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.views.timestamps import timestamp
from virtfleet.api.wsgi import Request, json_response
from virtfleet.db import aggregates as aggregate_db
from virtfleet.db import hosts as host_db
from virtfleet.scheduler.aggregates import DEFAULT_ZONE, zone_of


def _zones(deps: ComputeDeps, detail: bool) -> list[dict[str, Any]]:
    aggregates = aggregate_db.list_all(deps.db)
    by_zone: dict[str, dict[str, Any]] = {DEFAULT_ZONE: {}}
    for aggregate in aggregates:
        if aggregate.availability_zone:
            by_zone.setdefault(aggregate.availability_zone, {})
    for host in host_db.list_hosts(deps.db):
        up = host.state == "up" and not host.forced_down
        service = {
            "available": up,
            "active": host.status == "enabled",
            "updated_at": timestamp(host.updated_at),
        }
        by_zone.setdefault(zone_of(host.host, aggregates), {})[host.host] = {
            "nova-compute": service
        }
    zones = []
    for name, hosts in sorted(by_zone.items(), key=lambda item: item[0] != DEFAULT_ZONE):
        available = any(h["nova-compute"]["available"] for h in hosts.values())
        zone: dict[str, Any] = {"zoneName": name, "zoneState": {"available": available}}
        zone["hosts"] = hosts if detail else None
        zones.append(zone)
    return zones


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-availability-zone: each zone and whether it has a host up."""
    return json_response({"availabilityZoneInfo": _zones(deps, detail=False)})


def detail(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-availability-zone/detail: the zones with their hosts (admin)."""
    return json_response({"availabilityZoneInfo": _zones(deps, detail=True)})
