"""Every route of every API has a registered policy rule; against a real Keystone every
route but the version documents refuses an anonymous client (401) and every admin-only
route refuses a project member (403)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from support.identity_cloud import IdentityCloud
from virtfleet.api import auth, versions
from virtfleet.api.compute import routes as compute_routes
from virtfleet.api.dashboard import routes as dashboard_routes
from virtfleet.api.image import routes as image_routes
from virtfleet.api.metrics import routes as metrics_routes
from virtfleet.api.network import routes as network_routes
from virtfleet.api.placement import routes as placement_routes
from virtfleet.api.policy import list_rules, personas
from virtfleet.api.wsgi import Route

RULES = {rule.name: rule for rule in list_rules()}
ADMIN_ONLY = {personas.ADMIN, personas.ADMIN_OR_SERVICE}


def api_routes() -> list[tuple[str, Route]]:
    """(mount prefix, route) of every route table served on the listener."""
    tables: list[tuple[str, Any]] = [
        ("/compute", compute_routes.ROUTES),
        ("/image", image_routes.ROUTES),
        ("/networking", network_routes.ROUTES),
        ("/placement", placement_routes.ROUTES),
        ("/dashboard", dashboard_routes.ROUTES),
        ("/metrics", metrics_routes.ROUTES),
        ("", [compiled.route for compiled in versions.make_root_app().routes]),
        ("/identity", [c.route for c in versions.make_identity_stub_app().routes]),
    ]
    return [(prefix, route) for prefix, table in tables for route in table]


ROUTES = api_routes()
IDS = [f"{r.method} {prefix}{r.path}" for prefix, r in ROUTES]
SERVED = [(p, r) for p, r in ROUTES if p != "/identity"]  # the stub: test mode only


def sample_path(prefix: str, route: Route) -> str:
    return prefix + re.sub(r"\{(\w+)\}", lambda m: f"sample-{m[1]}", route.path)


@pytest.mark.parametrize(("prefix", "route"), ROUTES, ids=IDS)
def test_every_route_has_a_registered_rule(prefix: str, route: Route) -> None:
    assert route.policy in RULES, f"{route.method} {prefix}{route.path}: no rule {route.policy!r}"


@pytest.mark.parametrize("action", compute_routes.SERVER_ACTIONS, ids=lambda a: a.name)
def test_every_server_action_has_a_registered_rule(action: Any) -> None:
    assert action.policy in RULES, f"server action {action.name}: no rule {action.policy!r}"


#: The dashboard's login form, logging in and out, its script and style: open by design.
DASHBOARD_SESSION = "virtfleet:dashboard:session"


def is_dashboard_page(prefix: str, route: Route) -> bool:
    """A page a browser opens (without a session it is sent to the login page)."""
    return prefix == "/dashboard" and route.method == "GET" and not route.path.startswith("/api/")


def test_only_version_documents_are_open_to_anyone() -> None:
    open_rules = {name for name, rule in RULES.items() if rule.check_str == personas.ANYONE}
    served = [r for _, r in ROUTES if r.policy in open_rules - {DASHBOARD_SESSION}]
    assert all(r.method == "GET" for r in served)
    public = {f"{p}{r.path}" for p, r in SERVED if r.policy in open_rules}
    # Collections readable by any authenticated user (flavors, limits, ...) are not
    # anonymous: auth_token guards every path but these.
    assert {p for p in public if "version" in p or p.endswith("/")} - {""} <= auth.PUBLIC_PATHS


def body_for(method: str) -> Any:
    return {} if method in ("POST", "PUT", "PATCH") else None


@pytest.mark.parametrize(
    ("prefix", "route"), SERVED, ids=[f"{r.method} {p}{r.path}" for p, r in SERVED]
)
def test_anonymous_gets_401_except_version_documents(
    cloud: IdentityCloud, prefix: str, route: Route
) -> None:
    path = sample_path(prefix, route)
    reply = cloud.call(route.method, path, body=body_for(route.method))
    if route.policy == DASHBOARD_SESSION:
        assert reply.status != 401
    elif is_dashboard_page(prefix, route):  # redirected (and followed) to the login form
        assert reply.status == 200 and 'name="password"' in str(reply.body), reply.body
    elif path in auth.PUBLIC_PATHS or path.rstrip("/") in auth.PUBLIC_PATHS:
        assert reply.status != 401
    else:
        assert reply.status == 401, (path, reply.body)


ADMIN_ROUTES = [(p, r) for p, r in SERVED if RULES[r.policy].check_str in ADMIN_ONLY]


@pytest.mark.parametrize(
    ("prefix", "route"), ADMIN_ROUTES, ids=[f"{r.method} {p}{r.path}" for p, r in ADMIN_ROUTES]
)
def test_member_gets_403_on_admin_routes(cloud: IdentityCloud, prefix: str, route: Route) -> None:
    reply = cloud.call(route.method, sample_path(prefix, route), "member-a", body_for(route.method))
    assert reply.status == 403, reply.body
    assert route.policy in str(reply.body)


def test_admin_routes_include_the_operator_views() -> None:
    names = {r.policy for _, r in ADMIN_ROUTES}
    assert {
        "os_compute_api:os-hypervisors:list",
        "os_compute_api:os-flavor-manage:create",
        "os_compute_api:servers:migrations:force_complete",
        "os_compute_api:os-migrations:index",
        "placement:allocations:delete",
        "placement:resource_providers:inventories:update",
        "virtfleet:dashboard:fleet",
        "virtfleet:dashboard:live_migrate",
    } <= names


def test_every_rule_a_handler_checks_is_registered() -> None:
    import pathlib

    import virtfleet

    api = pathlib.Path(virtfleet.__file__).parent / "api"
    checked = {
        name
        for path in api.rglob("*.py")
        for name in re.findall(
            r"(?:require_admin|authorize)\(\s*req,\s*\"([^\"]+)\"", path.read_text()
        )
    }
    assert "os_compute_api:os-migrate-server:migrate_live" in checked
    assert not checked - RULES.keys(), sorted(checked - RULES.keys())
