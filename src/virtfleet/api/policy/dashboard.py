"""The dashboard's rules (``virtfleet:dashboard:...``): every page and its JSON twin
is an operator's view of the whole fleet, so admin by default; the operator actions
need their own rule here *and* the Compute API rule of the request they make."""

from __future__ import annotations

from oslo_policy import policy

from virtfleet.api.policy.personas import ADMIN, ANYONE, documented

D = "/dashboard"


def _rule(
    name: str, check: str, description: str, *operations: tuple[str, str]
) -> policy.RuleDefault:
    return documented(f"virtfleet:dashboard:{name}", check, description, *operations)


RULES = [
    _rule(
        "session",
        ANYONE,
        "The login page, logging in and out, the page's script and style.",
        ("GET", f"{D}/login"),
        ("POST", f"{D}/login"),
        ("POST", f"{D}/logout"),
        ("GET", f"{D}/static/{{name}}"),
    ),
    _rule(
        "fleet",
        ADMIN,
        "The fleet overview: hosts by arch and state, capacity and usage.",
        ("GET", f"{D}/"),
        ("GET", f"{D}/api/fleet"),
    ),
    _rule(
        "hosts",
        ADMIN,
        "The host list and a host's page (slice tree, GPUs).",
        ("GET", f"{D}/hosts"),
        ("GET", f"{D}/hosts/{{host}}"),
        ("GET", f"{D}/api/hosts"),
        ("GET", f"{D}/api/hosts/{{host}}"),
    ),
    _rule(
        "gpus",
        ADMIN,
        "The GPUs of the fleet, their mdev types and users.",
        ("GET", f"{D}/gpus"),
        ("GET", f"{D}/api/gpus"),
    ),
    _rule(
        "servers",
        ADMIN,
        "Every project's servers with state, host, arch and flavor.",
        ("GET", f"{D}/servers"),
        ("GET", f"{D}/api/servers"),
    ),
    _rule(
        "migrations",
        ADMIN,
        "Live migrations in progress and their progress.",
        ("GET", f"{D}/migrations"),
        ("GET", f"{D}/api/migrations"),
    ),
    _rule(
        "actions",
        ADMIN,
        "Recent instance actions and their failures.",
        ("GET", f"{D}/actions"),
        ("GET", f"{D}/api/actions"),
    ),
    _rule(
        "live_migrate",
        ADMIN,
        "Live-migrate a server from the dashboard (os-migrateLive is checked too).",
        ("POST", f"{D}/servers/{{server_id}}/live-migrate"),
    ),
    _rule(
        "delete_server",
        ADMIN,
        "Delete a server from the dashboard (servers:delete is checked too).",
        ("POST", f"{D}/servers/{{server_id}}/delete"),
    ),
    _rule(
        "disable_host",
        ADMIN,
        "Disable or enable a host from the dashboard (os-services:update is checked too).",
        ("POST", f"{D}/hosts/{{host}}/disable"),
        ("POST", f"{D}/hosts/{{host}}/enable"),
    ),
]
