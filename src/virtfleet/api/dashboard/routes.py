"""The dashboard's one route table (paths under ``/dashboard``): pages, their JSON
twins under ``/api``, the operator actions and the session, each with its policy rule
(:mod:`virtfleet.api.policy.dashboard`)."""

from __future__ import annotations

from virtfleet.api.dashboard.handlers import actions, data, login, pages, static
from virtfleet.api.wsgi import Route

R = "virtfleet:dashboard:"

ROUTES = (
    Route("GET", "/login", login.form, f"{R}session"),
    Route("POST", "/login", login.login, f"{R}session"),
    Route("POST", "/logout", login.logout, f"{R}session"),
    Route("GET", "/static/{name}", static.serve, f"{R}session"),
    Route("GET", "/", pages.overview, f"{R}fleet"),
    Route("GET", "/api/fleet", data.fleet_json, f"{R}fleet"),
    Route("GET", "/hosts", pages.host_list, f"{R}hosts"),
    Route("GET", "/api/hosts", data.hosts_json, f"{R}hosts"),
    Route("GET", "/hosts/{host}", pages.host, f"{R}hosts"),
    Route("GET", "/api/hosts/{host}", data.host_json, f"{R}hosts"),
    Route("POST", "/hosts/{host}/disable", actions.disable_host, f"{R}disable_host"),
    Route("POST", "/hosts/{host}/enable", actions.enable_host, f"{R}disable_host"),
    Route("GET", "/gpus", pages.gpus, f"{R}gpus"),
    Route("GET", "/api/gpus", data.gpus_json, f"{R}gpus"),
    Route("GET", "/servers", pages.server_list, f"{R}servers"),
    Route("GET", "/api/servers", data.servers_json, f"{R}servers"),
    Route("POST", "/servers/{server_id}/live-migrate", actions.live_migrate, f"{R}live_migrate"),
    Route("POST", "/servers/{server_id}/delete", actions.delete_server, f"{R}delete_server"),
    Route("GET", "/migrations", pages.migrations, f"{R}migrations"),
    Route("GET", "/api/migrations", data.migrations_json, f"{R}migrations"),
    Route("GET", "/actions", pages.actions, f"{R}actions"),
    Route("GET", "/api/actions", data.actions_json, f"{R}actions"),
)
