"""Server groups (``/os-server-groups``): create, list, show, delete.

A group has one policy — ``affinity`` or ``anti-affinity``, and from 2.15 the soft
variants — given as ``policies: [p]`` before 2.64 and as ``policy`` with ``rules``
(``max_server_per_host``, anti-affinity only) from 2.64. Servers join a group at boot
with the ``group`` scheduler hint; the scheduler honours the policy there and on
every move (:mod:`virtfleet.scheduler.server_groups`).
"""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api import caller
from virtfleet.api.compute import access
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import server_group as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import POLICY_ENVIRON_KEY, HTTPError, Request, json_response
from virtfleet.db import server_groups
from virtfleet.db.server_groups import Group
from virtfleet.scheduler import hints


def _view(req: Request, group: Group) -> dict[str, Any]:
    shown: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if at_least(req, "2.64"):
        shown["policy"] = group.policy
        shown["rules"] = dict(group.rules)
    else:
        shown["policies"] = [group.policy]
        shown["metadata"] = {}
    shown["members"] = list(group.members)
    if at_least(req, "2.13"):
        shown["project_id"] = group.project_id
        shown["user_id"] = group.user_id
    return shown


def _policy(req: Request, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The policy and rules of a create body, checked against the microversion."""
    policy = body["policy"] if at_least(req, "2.64") else body["policies"][0]
    allowed = hints.POLICIES if at_least(req, "2.15") else hints.POLICIES[:2]
    if policy not in allowed:
        raise HTTPError(
            400,
            f"Invalid server group policy {policy!r}: expected one of {', '.join(allowed)}"
            + ("" if at_least(req, "2.15") else " (the soft policies need microversion 2.15)")
            + ".",
        )
    rules = dict(body.get("rules") or {})
    if rules and policy != hints.ANTI_AFFINITY:
        raise HTTPError(
            400,
            f"Server group rules (max_server_per_host) apply only to policy anti-affinity, "
            f"not {policy}.",
        )
    if "max_server_per_host" in rules:
        rules["max_server_per_host"] = int(rules["max_server_per_host"])
    return policy, rules


def create(deps: ComputeDeps, req: Request) -> webob.Response:
    """POST /os-server-groups: a new group of the caller's project."""
    raw = req.json_body_or_400()
    validate_body(req, raw, schema.CREATE)
    body: dict[str, Any] = raw["server_group"]
    policy, rules = _policy(req, body)
    group = server_groups.create(
        deps.db,
        name=body["name"].strip(),
        policy=policy,
        rules=rules,
        project_id=access.project_id(req),
        user_id=access.user_id(req),
    )
    return json_response({"server_group": _view(req, group)})


def _all_projects(req: Request) -> bool:
    value = req.GET.get("all_projects")
    if value is None or value.lower() in ("0", "false", "off", "no"):
        return False
    rule = str(req.environ.get(POLICY_ENVIRON_KEY, "os_compute_api:os-server-groups:index"))
    caller.authorize(req, f"{rule}:all_projects")
    return True


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-server-groups: the project's groups (every project's for an admin
    with ``all_projects``); ``limit`` and ``offset`` page them."""
    project = None if _all_projects(req) else access.project_id(req)
    found = server_groups.list_groups(deps.db, project)
    offset = _non_negative(req, "offset")
    limit = _non_negative(req, "limit")
    found = found[offset or 0 :]
    if limit is not None:
        found = found[:limit]
    return json_response({"server_groups": [_view(req, g) for g in found]})


def _non_negative(req: Request, name: str) -> int | None:
    value = req.GET.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise HTTPError(400, f"Invalid input for query parameter {name}: {value!r} is not "
                        "a non-negative integer.")  # fmt: skip
    return int(value)


def _visible(deps: ComputeDeps, req: Request, group_id: str) -> Group:
    """The group if the caller's project owns it (or the caller is an admin); 404
    otherwise, as for a group that does not exist."""
    group = server_groups.get(deps.db, group_id)
    if group.project_id != access.project_id(req) and not access.is_admin(req):
        raise HTTPError(404, f"Server group {group_id} could not be found.")
    return group


def show(deps: ComputeDeps, req: Request, group_id: str) -> webob.Response:
    """GET /os-server-groups/{id}: one group with its members."""
    return json_response({"server_group": _view(req, _visible(deps, req, group_id))})


def delete(deps: ComputeDeps, req: Request, group_id: str) -> webob.Response:
    """DELETE /os-server-groups/{id}: the group goes; its members stay, in no group."""
    _visible(deps, req, group_id)
    server_groups.delete_group(deps.db, group_id)
    return json_response(None, status=204)
