"""How a server looks in the Compute API, per microversion (see ``versions.VERSIONS``)."""

from __future__ import annotations

import hashlib
from typing import Any

from virtfleet.api.compute import access
from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views import links, timestamps
from virtfleet.api.wsgi import Request
from virtfleet.db.servers import Server
from virtfleet.scheduler.aggregates import DEFAULT_ZONE
from virtfleet.virt.libvirt.guest import domain_name

# (vm_state, task_state) -> API status; task_state None is the default for a vm_state.
STATUS: dict[tuple[str, str | None], str] = {
    ("building", None): "BUILD",
    ("active", None): "ACTIVE",
    ("active", "rebooting"): "REBOOT",
    ("active", "reboot_pending"): "REBOOT",
    ("active", "reboot_started"): "REBOOT",
    ("active", "rebooting_hard"): "HARD_REBOOT",
    ("active", "reboot_pending_hard"): "HARD_REBOOT",
    ("active", "reboot_started_hard"): "HARD_REBOOT",
    ("active", "migrating"): "MIGRATING",
    ("active", "resize_prep"): "RESIZE",
    ("active", "resize_migrating"): "RESIZE",
    ("stopped", "resize_prep"): "RESIZE",
    ("stopped", "resize_migrating"): "RESIZE",
    ("resized", None): "VERIFY_RESIZE",
    ("resized", "resize_confirming"): "VERIFY_RESIZE",
    ("resized", "resize_reverting"): "REVERT_RESIZE",
    ("stopped", None): "SHUTOFF",
    ("paused", None): "PAUSED",
    ("suspended", None): "SUSPENDED",
    ("rescued", None): "RESCUE",
    ("shelved", None): "SHELVED",
    ("shelved_offloaded", None): "SHELVED_OFFLOADED",
    ("active", "rebuilding"): "REBUILD",
    ("stopped", "rebuilding"): "REBUILD",
    ("error", "rebuilding"): "REBUILD",
    ("error", None): "ERROR",
    ("deleted", None): "DELETED",
    ("soft-delete", None): "SOFT_DELETED",
}


def status(server: Server) -> str:
    return STATUS.get(
        (server.vm_state, server.task_state), STATUS.get((server.vm_state, None), "UNKNOWN")
    )


def host_id(server: Server) -> str:
    """Nova's opaque host id: the same for a project's servers on one host."""
    if not server.host:
        return ""
    return hashlib.sha224(f"{server.project_id}{server.host}".encode()).hexdigest()


def instance_name(server: Server) -> str:
    """The libvirt domain name of a server (as the driver names it)."""
    return domain_name(server.uuid)


def summary_view(req: Request, server: Server) -> dict[str, Any]:
    return {
        "id": server.uuid,
        "name": server.name,
        "links": links.links(req, "servers", server.uuid),
    }


def flavor_view(req: Request, server: Server) -> dict[str, Any]:
    flavor = server.flavor
    if not at_least(req, "2.47"):
        bookmark = links.links(req, "flavors", str(flavor.get("id")))[1]
        return {"id": flavor.get("id"), "links": [bookmark]}
    return {
        "vcpus": flavor.get("vcpus"),
        "ram": flavor.get("memory_mb"),
        "disk": flavor.get("root_gb", 0),
        "ephemeral": flavor.get("ephemeral_gb", 0),
        "swap": flavor.get("swap", 0),
        "original_name": flavor.get("name"),
        "extra_specs": dict(flavor.get("extra_specs") or {}),
    }


def image_view(req: Request, server: Server) -> dict[str, Any] | str:
    if not server.image_ref:
        return ""
    base = f"{req.host_url}{req.script_name}"
    return {
        "id": server.image_ref,
        "links": [{"rel": "bookmark", "href": f"{base}/images/{server.image_ref}"}],
    }


def detail_view(
    req: Request,
    server: Server,
    show: bool = False,
    addresses: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The full server body (``show`` adds what only GET /servers/{id} returns);
    ``addresses`` the server's fixed IPs by network name."""
    server_status = status(server)
    body: dict[str, Any] = {
        **summary_view(req, server),
        "status": server_status,
        "tenant_id": server.project_id,
        "user_id": server.user_id,
        "metadata": dict(server.metadata),
        "hostId": host_id(server),
        "image": image_view(req, server),
        "flavor": flavor_view(req, server),
        "created": timestamps.timestamp(server.created_at),
        "updated": timestamps.timestamp(server.updated_at),
        "addresses": addresses or {},
        "accessIPv4": "",
        "accessIPv6": "",
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": zone(server),
        "config_drive": "True" if server.guest_request.config_drive else "",
        "key_name": server.key_name,
        "OS-SRV-USG:launched_at": timestamps.timestamp(server.launched_at),
        "OS-SRV-USG:terminated_at": timestamps.timestamp(server.deleted_at),
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:power_state": server.power_state,
        "os-extended-volumes:volumes_attached": [],
        "security_groups": [{"name": "default"}],
    }
    if server_status in ("BUILD", "ACTIVE"):
        body["progress"] = 0
    if access.is_admin(req):
        body.update(
            {
                "OS-EXT-SRV-ATTR:host": server.host,
                "OS-EXT-SRV-ATTR:hypervisor_hostname": server.node,
                "OS-EXT-SRV-ATTR:instance_name": instance_name(server),
            }
        )
        if at_least(req, "2.3"):
            body.update(
                {
                    "OS-EXT-SRV-ATTR:reservation_id": f"r-{server.uuid[:8]}",
                    "OS-EXT-SRV-ATTR:launch_index": 0,
                    "OS-EXT-SRV-ATTR:hostname": server.hostname or server.name,
                    "OS-EXT-SRV-ATTR:kernel_id": server.image.get("properties", {}).get(
                        "kernel_id", ""
                    ),
                    "OS-EXT-SRV-ATTR:ramdisk_id": server.image.get("properties", {}).get(
                        "ramdisk_id", ""
                    ),
                    "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                    "OS-EXT-SRV-ATTR:user_data": server.user_data,
                }
            )
    if server_status in ("ERROR", "DELETED") and server.fault:
        fault = dict(server.fault)
        if not access.is_admin(req) and int(fault.get("code", 500)) >= 500:
            fault.pop("details", None)
        body["fault"] = fault
    if at_least(req, "2.9"):
        body["locked"] = server.locked
    if at_least(req, "2.16"):
        body["host_status"] = "UP" if server.host else ""
    if at_least(req, "2.19"):
        body["description"] = server.description
    if at_least(req, "2.26"):
        body["tags"] = list(server.tags)
    if at_least(req, "2.63"):
        body["trusted_image_certificates"] = None
    if show and at_least(req, "2.71"):
        group = server.scheduler_hints.get("group")
        body["server_groups"] = [group] if group else []
    if at_least(req, "2.73"):
        body["locked_reason"] = server.locked_reason
    if at_least(req, "2.96"):
        body["pinned_availability_zone"] = (server.availability_zone or "").partition(":")[
            0
        ] or None
    return body


def zone(server: Server) -> str:
    """The zone the boot asked for, else the default zone."""
    return (server.availability_zone or "").partition(":")[0] or DEFAULT_ZONE
