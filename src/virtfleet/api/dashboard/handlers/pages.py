"""The dashboard's pages: each renders its template over the same data as its JSON
twin (:mod:`.data`)."""

from __future__ import annotations

import webob

from virtfleet.api.dashboard import render
from virtfleet.api.dashboard.deps import DashboardDeps
from virtfleet.api.dashboard.handlers import data
from virtfleet.api.wsgi import Request


def overview(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/: the fleet overview."""
    return render.page(req, "overview.html", fleet=data.fleet_data(deps, req))


def host_list(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/hosts: the hosts, a page at a time, with filters."""
    return render.page(req, "hosts.html", found=data.hosts_data(deps, req), query=req.GET)


def host(deps: DashboardDeps, req: Request, host: str) -> webob.Response:
    """GET /dashboard/hosts/{host}: one host, its slice tree and GPUs."""
    return render.page(req, "host.html", host=data.host_data(deps, req, host), query=req.GET)


def gpus(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/gpus: the fleet's GPUs with mdev types and users."""
    return render.page(req, "gpus.html", found=data.gpus_data(deps, req), query=req.GET)


def server_list(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/servers: servers with state, host, arch and flavor; actions."""
    return render.page(req, "servers.html", found=data.servers_data(deps, req), query=req.GET)


def migrations(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/migrations: migrations in progress with live progress bars."""
    return render.page(req, "migrations.html", found=data.migrations_data(deps, req), query=req.GET)


def actions(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/actions: recent instance actions and their failures."""
    return render.page(req, "actions.html", found=data.actions_data(deps, req), query=req.GET)
