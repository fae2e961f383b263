"""``/v2.0/security-groups`` and ``/v2.0/security-group-rules``."""

from __future__ import annotations

import webob

from virtfleet.api.network import common
from virtfleet.api.network.views import group_view, rule_view
from virtfleet.api.wsgi import Request, json_response
from virtfleet.network.service import NetworkService


def index(service: NetworkService, req: Request) -> webob.Response:
    """GET /v2.0/security-groups: the caller's groups (its default one included)."""
    views = [group_view(g) for g in service.list_security_groups(common.caller(req))]
    return common.listing(req, "security_groups", views)


def create(service: NetworkService, req: Request) -> webob.Response:
    """POST /v2.0/security-groups: a group with egress open."""
    body = common.resource_body(req, "security_group")
    created = service.create_security_group(common.caller(req), body)
    return common.one(req, "security_group", group_view(created), status=201)


def show(service: NetworkService, req: Request, group_id: str) -> webob.Response:
    """GET /v2.0/security-groups/{id}: one group with its rules."""
    group = service.get_security_group(common.caller(req), group_id)
    return common.one(req, "security_group", group_view(group))


def update(service: NetworkService, req: Request, group_id: str) -> webob.Response:
    """PUT /v2.0/security-groups/{id}: name and description."""
    body = common.resource_body(req, "security_group")
    group = service.update_security_group(common.caller(req), group_id, body)
    return common.one(req, "security_group", group_view(group))


def delete(service: NetworkService, req: Request, group_id: str) -> webob.Response:
    """DELETE /v2.0/security-groups/{id}: 409 while ports use it."""
    service.delete_security_group(common.caller(req), group_id)
    return json_response(None, status=204)


def rule_index(service: NetworkService, req: Request) -> webob.Response:
    """GET /v2.0/security-group-rules: rules of the caller's groups."""
    views = [rule_view(r) for r in service.list_rules(common.caller(req))]
    return common.listing(req, "security_group_rules", views)


def rule_create(service: NetworkService, req: Request) -> webob.Response:
    """POST /v2.0/security-group-rules: a rule (409 when the same rule exists)."""
    body = common.resource_body(req, "security_group_rule")
    created = service.create_rule(common.caller(req), body)
    return common.one(req, "security_group_rule", rule_view(created), status=201)


def rule_show(service: NetworkService, req: Request, rule_id: str) -> webob.Response:
    """GET /v2.0/security-group-rules/{id}: one rule."""
    rule = service.get_rule(common.caller(req), rule_id)
    return common.one(req, "security_group_rule", rule_view(rule))


def rule_delete(service: NetworkService, req: Request, rule_id: str) -> webob.Response:
    """DELETE /v2.0/security-group-rules/{id}: the rule."""
    service.delete_rule(common.caller(req), rule_id)
    return json_response(None, status=204)
