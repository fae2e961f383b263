"""The JSON of each page (``/dashboard/api/...``): what the page shows, for scripts
and for the page's own poller (migrations)."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.dashboard.deps import DashboardDeps
from virtfleet.api.dashboard.queries import activity, fleet, hosts, servers
from virtfleet.api.dashboard.queries.fleet import STATES
from virtfleet.api.dashboard.queries.paging import Page, text_filter
from virtfleet.api.dashboard.queries.providers import gpu_page
from virtfleet.api.wsgi import Request, json_response

RECENT_ACTIONS = 100


def fleet_data(deps: DashboardDeps, req: Request) -> dict[str, Any]:
    return fleet.overview(deps.db, deps.down_after)


def hosts_data(deps: DashboardDeps, req: Request) -> dict[str, Any]:
    query = req.GET
    return hosts.host_page(
        deps.db,
        Page.from_query(query),
        deps.down_after,
        name=text_filter(query, "name"),
        arch=text_filter(query, "arch"),
        state=text_filter(query, "state", STATES),
    )


def host_data(deps: DashboardDeps, req: Request, host: str) -> dict[str, Any]:
    return hosts.host_detail(deps.db, host, deps.down_after)


def gpus_data(deps: DashboardDeps, req: Request) -> dict[str, Any]:
    with deps.db.read() as conn:
        return gpu_page(conn, Page.from_query(req.GET))


def servers_data(deps: DashboardDeps, req: Request) -> dict[str, Any]:
    query = req.GET
    return servers.server_page(
        deps.db,
        Page.from_query(query),
        name=text_filter(query, "name"),
        host=text_filter(query, "host"),
        state=text_filter(query, "state"),
    )


def migrations_data(deps: DashboardDeps, req: Request) -> dict[str, Any]:
    return activity.migrations_in_progress(deps.db)


def actions_data(deps: DashboardDeps, req: Request) -> dict[str, Any]:
    return activity.recent_actions(deps.db, RECENT_ACTIONS)


def fleet_json(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/api/fleet: the fleet overview."""
    return _json(fleet_data(deps, req))


def hosts_json(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/api/hosts: a page of hosts (``offset``, ``limit``, ``name``,
    ``arch``, ``state``)."""
    return _json(hosts_data(deps, req))


def host_json(deps: DashboardDeps, req: Request, host: str) -> webob.Response:
    """GET /dashboard/api/hosts/{host}: one host with its slice tree and GPUs."""
    return _json(host_data(deps, req, host))


def gpus_json(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/api/gpus: a page of the fleet's GPUs."""
    return _json(gpus_data(deps, req))


def servers_json(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/api/servers: a page of servers (``name``, ``host``, ``state``)."""
    return _json(servers_data(deps, req))


def migrations_json(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/api/migrations: live migrations in progress (polled by the page)."""
    return _json(migrations_data(deps, req))


def actions_json(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/api/actions: the latest instance actions and their failures."""
    return _json(actions_data(deps, req))


def _json(body: dict[str, Any]) -> webob.Response:
    return json_response(body, headers={"Cache-Control": "no-store"})
