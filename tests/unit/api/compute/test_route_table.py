"""The Compute API's route table and server action table: every row has a documented
handler, a Nova-style policy rule, is reachable, and the rule reaches the request."""

from __future__ import annotations

import json
import re

import pytest
import webob

from support.api_apps import Apps
from support.route_tables import check_route_table, sample_path
from virtfleet.api.compute.routes import ROUTES, SERVER_ACTIONS
from virtfleet.api.wsgi import POLICY_ENVIRON_KEY

# Nova names most rules os_compute_api:..., a few (server topology) compute:...
NOVA_RULE = re.compile(r"(os_compute_api|compute):[a-z0-9-]+(:[a-z0-9_-]+)*")


def test_every_route_has_a_handler_a_policy_and_is_reachable() -> None:
    check_route_table(ROUTES, NOVA_RULE)


def test_every_server_action_has_a_documented_handler_and_a_policy() -> None:
    names = [action.name for action in SERVER_ACTIONS]
    assert len(names) == len(set(names))
    for action in SERVER_ACTIONS:
        assert action.handler.__doc__, action.name
        assert NOVA_RULE.fullmatch(action.policy), action.name


def _environ_after(apps: Apps, method: str, path: str, body: object = None) -> dict[str, object]:
    req = webob.Request.blank("/compute" + path, method=method)
    req.script_name, req.path_info = "/compute", path
    req.headers["OpenStack-API-Version"] = "compute latest"
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = "application/json"
    req.get_response(apps.compute_app)
    return dict(req.environ)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_each_route_records_its_policy_rule(apps: Apps, route: object) -> None:
    method, path, _handler, policy = route  # type: ignore[misc]
    body = {} if method in ("POST", "PUT") else None
    assert _environ_after(apps, method, sample_path(path), body)[POLICY_ENVIRON_KEY] == policy


@pytest.mark.parametrize("action", SERVER_ACTIONS, ids=lambda a: a.name)
def test_each_server_action_records_its_own_rule(apps: Apps, action: object) -> None:
    name, _handler, policy = action  # type: ignore[misc]
    environ = _environ_after(apps, "POST", "/v2.1/servers/nope/action", {name: None})
    assert environ[POLICY_ENVIRON_KEY] == policy
