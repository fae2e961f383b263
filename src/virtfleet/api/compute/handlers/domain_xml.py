"""A server's libvirt domain XML (``/servers/{id}/os-domain-xml``, admin only)."""

from __future__ import annotations

import webob

from virtfleet.api.compute import access
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.views.servers import status
from virtfleet.api.wsgi import HTTPError, Request, json_response


def show(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """GET /servers/{id}/os-domain-xml (admin): the guest's libvirt XML."""
    access.require_admin(req, "os_compute_api:os-domain-xml")
    server = access.visible_server(req, deps.db, server_id)
    if not server.host:
        raise HTTPError(
            409,
            f"Server {server_id} is not on a host yet (status {status(server)}); it has "
            "no domain XML.",
        )
    return json_response({"domain_xml": deps.conductor.get_domain_xml(server_id)})
