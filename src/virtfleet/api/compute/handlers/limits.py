"""``/limits``: what this project may use (no quotas yet: unlimited) and uses."""

from __future__ import annotations

import webob

from virtfleet.api.compute import access
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import Request, json_response
from virtfleet.db import servers

UNLIMITED = -1


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /limits: absolute limits (unlimited quotas) with this project's usage."""
    project = access.project_id(req)
    mine = [s for s in servers.list_servers(deps.db) if s.project_id == project]
    absolute: dict[str, int] = {
        "maxServerMeta": 128,
        "maxTotalInstances": UNLIMITED,
        "maxTotalCores": UNLIMITED,
        "maxTotalRAMSize": UNLIMITED,
        "maxTotalKeypairs": UNLIMITED,
        "maxServerGroups": UNLIMITED,
        "maxServerGroupMembers": UNLIMITED,
        "totalInstancesUsed": len(mine),
        "totalCoresUsed": sum(int(s.flavor.get("vcpus", 0)) for s in mine),
        "totalRAMUsed": sum(int(s.flavor.get("memory_mb", 0)) for s in mine),
        "totalServerGroupsUsed": 0,
    }
    if not at_least(req, "2.57"):
        absolute.update({"maxPersonality": UNLIMITED, "maxPersonalitySize": UNLIMITED})
    if not at_least(req, "2.39"):
        absolute["maxImageMeta"] = 128
    if not at_least(req, "2.36"):
        absolute.update(
            {
                "maxSecurityGroups": UNLIMITED,
                "maxSecurityGroupRules": UNLIMITED,
                "maxTotalFloatingIps": UNLIMITED,
                "totalSecurityGroupsUsed": 0,
                "totalFloatingIpsUsed": 0,
            }
        )
    return json_response({"limits": {"rate": [], "absolute": absolute}})
