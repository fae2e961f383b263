"""``/limits``: what this project may use (its Keystone unified limits) and uses
(``openstack limits show --absolute``)."""

from __future__ import annotations

import webob

from virtfleet.api import caller
from virtfleet.api.compute import access
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import Request, json_response
from virtfleet.db import servers
from virtfleet.quota.limits import UNLIMITED, Usage
from virtfleet.quota.resources import MEMORY_MB, SERVERS, VCPU, server_resources


def _report(deps: ComputeDeps, project: str) -> dict[str, Usage]:
    if deps.quota is not None:
        return deps.quota.compute_report(project)
    mine = [s for s in servers.list_servers(deps.db) if s.project_id == project]
    used = [server_resources(s.flavor) for s in mine]
    return {
        SERVERS: Usage(UNLIMITED, len(mine)),
        VCPU: Usage(UNLIMITED, sum(u.get(VCPU, 0) for u in used)),
        MEMORY_MB: Usage(UNLIMITED, sum(u.get(MEMORY_MB, 0) for u in used)),
    }


def _key_pair_limit(deps: ComputeDeps) -> int:
    return deps.quota.key_pair_report(None).limit if deps.quota is not None else UNLIMITED


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /limits: absolute limits (Keystone's unified limits of the project, -1 for
    unlimited) with its usage; ``tenant_id`` names another project (admins)."""
    project = access.project_id(req)
    wanted = req.GET.get("tenant_id")
    if wanted and wanted != project:
        caller.authorize(req, "os_compute_api:limits:other_project", {"project_id": wanted})
        project = wanted
    report = _report(deps, project)
    absolute: dict[str, int] = {
        "maxServerMeta": 128,
        "maxTotalInstances": report[SERVERS].limit,
        "maxTotalCores": report[VCPU].limit,
        "maxTotalRAMSize": report[MEMORY_MB].limit,
        "maxTotalKeypairs": _key_pair_limit(deps),
        "maxServerGroups": UNLIMITED,
        "maxServerGroupMembers": UNLIMITED,
        "totalInstancesUsed": report[SERVERS].in_use,
        "totalCoresUsed": report[VCPU].in_use,
        "totalRAMUsed": report[MEMORY_MB].in_use,
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
