"""``/os-quota-sets/{project_id}``: a project's quotas, as Nova reports Keystone
unified limits (``openstack quota show``). The limits are Keystone's: updating or
deleting them here is refused, naming the Keystone commands that change them.
``key_pairs`` is the registered limit of ``server_key_pairs`` (per user, as Nova);
its usage is the key pairs of ``user_id`` (query), else of the caller.
"""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api import caller
from virtfleet.api.compute import access
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import quota_set as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.quota.limits import UNLIMITED, Usage
from virtfleet.quota.resources import MEMORY_MB, SERVERS, VCPU

RULE = "os_compute_api:os-quota-sets"
#: Nova's quota-set key -> the unified limit it reports (others are unlimited here).
KEYS = {"instances": SERVERS, "cores": VCPU, "ram": MEMORY_MB}
METADATA_ITEMS = 128
UNLIMITED_KEYS = ("key_pairs", "server_groups", "server_group_members")
KEY_PAIRS = "key_pairs"
#: Keys dropped by microversion 2.57 (injected files) and 2.36 (network proxies).
BEFORE_2_57 = ("injected_file_content_bytes", "injected_file_path_bytes", "injected_files")
BEFORE_2_36 = ("fixed_ips", "floating_ips", "security_group_rules", "security_groups")


def _target(req: Request, rule: str, project_id: str) -> None:
    """403 unless the caller may read ``project_id``'s quotas (its own, or admin)."""
    caller.authorize(req, f"{RULE}:{rule}", {"project_id": project_id})


def _keys(req: Request) -> list[str]:
    keys = [*KEYS, "metadata_items", *UNLIMITED_KEYS]
    if not at_least(req, "2.57"):
        keys += BEFORE_2_57
    if not at_least(req, "2.36"):
        keys += BEFORE_2_36
    return keys


def _usage(report: dict[str, Usage], key: str) -> Usage:
    if key == "metadata_items":
        return Usage(METADATA_ITEMS, 0)
    return report.get(KEYS.get(key, ""), Usage(UNLIMITED, 0))


def _quota_set(
    deps: ComputeDeps, req: Request, project_id: str, detail: bool, defaults: bool = False
) -> dict[str, Any]:
    report: dict[str, Usage] = {}
    key_pairs = Usage(UNLIMITED, 0)
    if deps.quota is not None:
        report = deps.quota.compute_report(None if defaults else project_id)
        user = None if defaults else req.GET.get("user_id") or access.user_id(req)
        key_pairs = deps.quota.key_pair_report(user)
    body: dict[str, Any] = {"id": project_id}
    for key in _keys(req):
        usage = key_pairs if key == KEY_PAIRS else _usage(report, key)
        if detail:
            body[key] = {"limit": usage.limit, "in_use": usage.in_use, "reserved": 0}
        else:
            body[key] = usage.limit
    return {"quota_set": body}


def show(deps: ComputeDeps, req: Request, project_id: str) -> webob.Response:
    """GET /os-quota-sets/{project_id}: the project's limits."""
    _target(req, "show", project_id)
    return json_response(_quota_set(deps, req, project_id, detail=False))


def detail(deps: ComputeDeps, req: Request, project_id: str) -> webob.Response:
    """GET /os-quota-sets/{project_id}/detail: limits with usage (``--usage``)."""
    _target(req, "detail", project_id)
    return json_response(_quota_set(deps, req, project_id, detail=True))


def defaults(deps: ComputeDeps, req: Request, project_id: str) -> webob.Response:
    """GET /os-quota-sets/{project_id}/defaults: the registered (default) limits."""
    return json_response(_quota_set(deps, req, project_id, detail=False, defaults=True))


def _refused(action: str) -> HTTPError:
    return HTTPError(
        400,
        f"Quotas cannot be {action} through os-quota-sets: they are Keystone unified "
        "limits. Use 'openstack limit create --service nova --project PROJECT "
        "--resource-limit N RESOURCE' (or 'openstack limit set' / 'openstack limit "
        "delete'), and 'openstack registered limit create/set' for the defaults.",
    )


def update(deps: ComputeDeps, req: Request, project_id: str) -> webob.Response:
    """PUT /os-quota-sets/{project_id}: refused (the limits are Keystone's)."""
    validate_body(req, req.json_body_or_400(), schema.UPDATE)
    raise _refused("updated")


def delete(deps: ComputeDeps, req: Request, project_id: str) -> webob.Response:
    """DELETE /os-quota-sets/{project_id}: refused (the limits are Keystone's)."""
    raise _refused("deleted")
