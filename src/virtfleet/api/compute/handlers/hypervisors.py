"""``/os-hypervisors`` (list, detail, show, uptime): compute nodes with their usage from
placement. Admin only, as in Nova."""

from __future__ import annotations

import json
import re
from typing import Any

import webob

from virtfleet import errors
from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import hosts, servers
from virtfleet.db.hosts import HostRecord


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-hypervisors: id, name, state and status of every compute node."""
    access.require_admin(req, "os_compute_api:os-hypervisors:list")
    found = _filtered(deps, req)
    listed = [_with_servers(deps, req, h, _summary(req, h)) for h in found]
    return json_response({"hypervisors": listed})


def detail(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-hypervisors/detail: every compute node with its capacity and usage."""
    access.require_admin(req, "os_compute_api:os-hypervisors:list-detail")
    found = _filtered(deps, req)
    listed = [_with_servers(deps, req, h, _detail(deps, req, h)) for h in found]
    return json_response({"hypervisors": listed})


def servers_of(deps: ComputeDeps, req: Request, hypervisor_id: str) -> webob.Response:
    """GET /os-hypervisors/{pattern}/servers (before 2.53): the hypervisors whose name
    contains ``pattern``, each with its servers (2.53 on: ``?with_servers=true``)."""
    access.require_admin(req, "os_compute_api:os-hypervisors:servers")
    if at_least(req, "2.53"):
        raise HTTPError(
            404, "From microversion 2.53 on, list servers with ?with_servers=true instead."
        )
    found = [h for h in hosts.list_hosts(deps.db) if hypervisor_id in h.hypervisor_hostname]
    if not found:
        raise HTTPError(404, f"No hypervisor matching '{hypervisor_id}' could be found.")
    listed = [_servers_listed(deps, h, _summary(req, h)) for h in found]
    return json_response({"hypervisors": listed})


def _with_servers(
    deps: ComputeDeps, req: Request, host: HostRecord, body: dict[str, Any]
) -> dict[str, Any]:
    """``body`` with the host's servers when 2.53's ``with_servers`` asks for them."""
    wanted = req.GET.get("with_servers", "false").lower() in ("true", "1", "yes", "on")
    if not (wanted and at_least(req, "2.53")):
        return body
    listed = _servers_listed(deps, host, body)
    if at_least(req, "2.75"):  # from 2.75 the key is there even when the list is empty
        listed.setdefault("servers", [])
    return listed


def _servers_listed(deps: ComputeDeps, host: HostRecord, body: dict[str, Any]) -> dict[str, Any]:
    listed = [{"uuid": s.uuid, "name": s.name} for s in servers.list_servers(deps.db, host.host)]
    if listed:  # Nova leaves the key out for a host without servers
        body["servers"] = listed
    return body


def show(deps: ComputeDeps, req: Request, hypervisor_id: str) -> webob.Response:
    """GET /os-hypervisors/{id}: one compute node in detail."""
    access.require_admin(req, "os_compute_api:os-hypervisors:show")
    host = _lookup(deps, req, hypervisor_id)
    body = _detail(deps, req, host)
    if at_least(req, "2.88"):
        body["uptime"] = None
    return json_response({"hypervisor": body})


def uptime(deps: ComputeDeps, req: Request, hypervisor_id: str) -> webob.Response:
    """Hosts do not report their uptime: 501, which ``openstack hypervisor show``
    (before 2.88) takes as "no uptime" - as Nova answers for such drivers."""
    access.require_admin(req, "os_compute_api:os-hypervisors:uptime")
    if at_least(req, "2.88"):
        raise HTTPError(404, "The uptime API was removed in microversion 2.88.")
    host = _lookup(deps, req, hypervisor_id)
    raise HTTPError(501, f"Hypervisor {host.hypervisor_hostname} does not report its uptime.")


def _filtered(deps: ComputeDeps, req: Request) -> list[HostRecord]:
    found = hosts.list_hosts(deps.db)
    pattern = req.GET.get("hypervisor_hostname_pattern")
    if pattern is not None:
        found = [h for h in found if pattern in h.hypervisor_hostname]
    if at_least(req, "2.33"):
        found = _page(req, found, paging_allowed=pattern is None)
    return found


def _page(req: Request, found: list[HostRecord], paging_allowed: bool) -> list[HostRecord]:
    """``marker`` (the last id seen: a uuid from 2.53) and ``limit`` (2.33); paging
    and ``hypervisor_hostname_pattern`` do not mix (400, as in Nova)."""
    marker, limit = req.GET.get("marker"), req.GET.get("limit")
    if (marker is not None or limit is not None) and not paging_allowed:
        raise HTTPError(
            400, "Paging over hypervisors is not supported with hypervisor_hostname_pattern."
        )
    if marker is not None:
        ids = [str(h.uuid if at_least(req, "2.53") else h.id) for h in found]
        if marker not in ids:
            raise HTTPError(400, f"marker [{marker}] not found")
        found = found[ids.index(marker) + 1 :]
    if limit is not None:
        found = found[: field_checks.integer("limit", limit, 0)]
    return found


def _lookup(deps: ComputeDeps, req: Request, hypervisor_id: str) -> HostRecord:
    try:
        if at_least(req, "2.53"):
            return hosts.get_host_by_uuid(deps.db, hypervisor_id)
        if not re.fullmatch(r"[0-9]{1,18}", hypervisor_id):
            raise HTTPError(
                400,
                f"Invalid hypervisor id {hypervisor_id!r}: before "
                "microversion 2.53 ids are integers.",
            )
        return hosts.get_host(deps.db, int(hypervisor_id))
    except errors.NotFound:
        raise HTTPError(404, f"Hypervisor {hypervisor_id} could not be found.") from None


def _summary(req: Request, host: HostRecord) -> dict[str, Any]:
    return {
        "id": host.uuid if at_least(req, "2.53") else host.id,
        "hypervisor_hostname": host.hypervisor_hostname,
        "state": "down" if host.forced_down else host.state,
        "status": host.status,
    }


def _detail(deps: ComputeDeps, req: Request, host: HostRecord) -> dict[str, Any]:
    body = _summary(req, host)
    body.update(
        {
            "hypervisor_type": host.hypervisor_type,
            "hypervisor_version": host.hypervisor_version,
            "host_ip": None,
            "service": {
                "host": host.host,
                "id": host.uuid if at_least(req, "2.53") else host.id,
                "disabled_reason": host.disabled_reason,
            },
        }
    )
    if at_least(req, "2.88"):
        return body
    used = _usages(deps, host)
    running = len(servers.list_servers(deps.db, host=host.host))
    vcpus_used = used.get("VCPU", 0)
    memory_used = used.get("MEMORY_MB", 0)
    disk_used = used.get("DISK_GB", 0)
    body.update(
        {
            "vcpus": host.vcpus,
            "memory_mb": host.memory_mb,
            "local_gb": host.local_gb,
            "vcpus_used": vcpus_used,
            "memory_mb_used": memory_used,
            "local_gb_used": disk_used,
            "free_ram_mb": host.memory_mb - memory_used,
            "free_disk_gb": host.local_gb - disk_used,
            "current_workload": 0,
            "running_vms": running,
            "disk_available_least": host.local_gb - disk_used,
            "cpu_info": dict(host.cpu_info)
            if at_least(req, "2.28")
            else json.dumps(dict(host.cpu_info)),
        }
    )
    return body


def _usages(deps: ComputeDeps, host: HostRecord) -> dict[str, int]:
    try:
        _generation, used = deps.placement.provider_usages(host.uuid)
    except errors.NotFound:
        return {}
    return dict(used)
