"""The Compute API route table (mounted at ``/compute``): version documents and the
``/v2.1`` resources. Paths with a project id after ``/v2.1`` are accepted too."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import webob

from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.errors import render_error
from virtfleet.api.compute.explain import ExplainHandlers
from virtfleet.api.compute.flavors import FlavorHandlers
from virtfleet.api.compute.hypervisors import HypervisorHandlers
from virtfleet.api.compute.migrations import MigrationHandlers
from virtfleet.api.compute.misc import MiscHandlers
from virtfleet.api.compute.server_actions import ActionHandlers
from virtfleet.api.compute.servers import ServerHandlers
from virtfleet.api.compute.versions import POLICY, version_entry
from virtfleet.api.wsgi import (
    Handler,
    HTTPError,
    Request,
    Router,
    StartResponse,
    WSGIEnviron,
    json_response,
)

V = "/v2.1"
PROJECT_SEGMENT = re.compile(r"^/v2\.1/(?:[0-9a-f]{32}|[0-9a-f-]{36})(?=/|$)")


def versions_index(req: Request) -> webob.Response:
    return json_response({"versions": [version_entry(req)]})


def version_show(req: Request) -> webob.Response:
    return json_response({"version": version_entry(req)})


JSON_TYPES = frozenset({"application/json", "application/vnd.openstack.compute+json"})


def json_only(handler: Handler) -> Handler:
    """415 for a request body in another media type than JSON (as Nova answers)."""

    @functools.wraps(handler)
    def wrapped(req: Request, **params: str) -> webob.Response:
        if req.content_type and req.content_type not in JSON_TYPES:
            raise HTTPError(
                415,
                f"Unsupported Content-Type {req.content_type!r}: the Compute API takes "
                "application/json.",
            )
        return handler(req, **params)

    return wrapped


def routes(deps: ComputeDeps) -> list[tuple[str, str, Handler]]:
    flavors = FlavorHandlers(deps)
    server = ServerHandlers(deps)
    actions = ActionHandlers(deps)
    hypervisors = HypervisorHandlers(deps)
    misc = MiscHandlers(deps)
    explain = ExplainHandlers(deps)
    migrations = MigrationHandlers(deps, actions.action)  # os-migrateLive, then the rest
    server_migration = f"{V}/servers/{{server_id}}/migrations/{{migration_id}}"
    specs = f"{V}/flavors/{{flavor_id}}/os-extra_specs"
    return [
        ("GET", "/", versions_index),
        ("GET", V, version_show),
        ("GET", f"{V}/flavors", flavors.index),
        ("POST", f"{V}/flavors", flavors.create),
        ("GET", f"{V}/flavors/detail", flavors.detail),
        ("GET", f"{V}/flavors/{{flavor_id}}", flavors.show),
        ("PUT", f"{V}/flavors/{{flavor_id}}", flavors.update),
        ("DELETE", f"{V}/flavors/{{flavor_id}}", flavors.delete),
        ("GET", specs, flavors.list_specs),
        ("POST", specs, flavors.create_specs),
        ("GET", f"{specs}/{{key}}", flavors.show_spec),
        ("PUT", f"{specs}/{{key}}", flavors.update_spec),
        ("DELETE", f"{specs}/{{key}}", flavors.delete_spec),
        ("GET", f"{V}/servers", server.index),
        ("POST", f"{V}/servers", server.create),
        ("GET", f"{V}/servers/detail", server.detail),
        ("GET", f"{V}/servers/{{server_id}}", server.show),
        ("DELETE", f"{V}/servers/{{server_id}}", server.delete),
        ("POST", f"{V}/servers/{{server_id}}/action", migrations.action),
        ("GET", f"{V}/servers/{{server_id}}/migrations", migrations.server_index),
        ("GET", server_migration, migrations.server_show),
        ("DELETE", server_migration, migrations.abort),
        ("POST", f"{server_migration}/action", migrations.migration_action),
        ("GET", f"{V}/os-migrations", migrations.index),
        ("GET", f"{V}/servers/{{server_id}}/os-domain-xml", server.domain_xml),
        ("GET", f"{V}/os-hypervisors", hypervisors.index),
        ("GET", f"{V}/os-hypervisors/detail", hypervisors.detail),
        ("GET", f"{V}/os-hypervisors/{{hypervisor_id}}", hypervisors.show),
        ("GET", f"{V}/os-hypervisors/{{hypervisor_id}}/uptime", hypervisors.uptime),
        ("GET", f"{V}/limits", misc.limits),
        ("GET", f"{V}/os-availability-zone", misc.availability_zones),
        ("GET", f"{V}/os-availability-zone/detail", misc.availability_zones),
        ("GET", f"{V}/os-keypairs", misc.keypairs),
        ("GET", f"{V}/extensions", misc.extensions),
        ("GET", f"{V}/os-aggregates", misc.aggregates),
        ("POST", f"{V}/os-scheduler-explain", explain.explain),
    ]


class ComputeApp:
    """The Compute API as a WSGI app: strips a project id segment, then routes."""

    def __init__(self, deps: ComputeDeps) -> None:
        table = [(m, t, json_only(h) if m in ("POST", "PUT") else h) for m, t, h in routes(deps)]
        self.router = Router(table, render_error, POLICY, unversioned=("/", V, f"{V}/"))

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        match = PROJECT_SEGMENT.match(path)
        if match:
            environ["PATH_INFO"] = V + path[match.end() :]
        return self.router(environ, start_response)


def make_compute_app(deps: ComputeDeps) -> ComputeApp:
    """The Compute API v2.1 as a WSGI app."""
    return ComputeApp(deps)
