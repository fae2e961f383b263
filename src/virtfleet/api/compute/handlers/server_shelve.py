"""Shelve, shelve-offload and unshelve a server (the conductor's ``shelving``).

    POST /servers/{id}/action  {"shelve": null}          202 (owner)
    POST /servers/{id}/action  {"shelveOffload": null}   202 (admin)
    POST /servers/{id}/action  {"unshelve": null | {"availability_zone": Z, "host": H}}
                               202; availability_zone 2.77 (null unpins: 2.91), host
                               2.91 (admin); both only for a SHELVED_OFFLOADED server

Shelve makes the ``<name>-shelved`` snapshot image in the Image API before the task
begins (as ``createImage``); an unshelve of an offloaded server counts its cores and
RAM against the project's quota again (403 in Nova's wording).
"""

from __future__ import annotations

from typing import Any

import webob

from virtfleet import errors
from virtfleet.api import caller
from virtfleet.api.compute import access
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.handlers.server_images import queue_snapshot_image
from virtfleet.api.compute.handlers.server_state_actions import begin, check_lock, record
from virtfleet.api.compute.schemas import server_action as action_schema
from virtfleet.api.compute.schemas import shelve as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.conductor.shelve import Unshelve
from virtfleet.db import aggregates as aggregate_db
from virtfleet.db import hosts, servers
from virtfleet.scheduler.aggregates import DEFAULT_ZONE, zone_of
from virtfleet.servers import actions, service
from virtfleet.servers import states as st

UNSHELVE_TO_HOST = "os_compute_api:os-shelve:unshelve_to_host"


def shelve(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``shelve``: stop the guest, snapshot its disk into ``<name>-shelved``, SHELVED
    (offloaded at once with ``[compute] shelved_offload_time`` 0)."""
    validate_body(req, argument, action_schema.NO_ARGUMENT)
    server = access.visible_server(req, deps.db, server_id)
    check_lock(req, server)
    service.check(server, "shelve")
    image_id = queue_snapshot_image(
        deps, req, server, f"{server.name}-shelved", {}, "shelve",
        "Cannot shelve: invalid image metadata",
    )  # fmt: skip
    record(deps, req, server_id, actions.SHELVE)
    deps.shelving.shelve(server_id, image_id)
    return json_response(None, status=202)


def shelve_offload(
    deps: ComputeDeps, req: Request, server_id: str, argument: Any
) -> webob.Response:
    """``shelveOffload``: a SHELVED server leaves its host (SHELVED_OFFLOADED)."""
    validate_body(req, argument, action_schema.NO_ARGUMENT)
    begin(deps, req, server_id, "shelve_offload", actions.SHELVE_OFFLOAD)
    deps.shelving.shelve_offload(server_id)
    return json_response(None, status=202)


def unshelve(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``unshelve``: start a SHELVED server again, or schedule and boot an offloaded
    one from its shelve image (into ``availability_zone`` / onto ``host``)."""
    validate_body(req, argument, schema.UNSHELVE)
    server = access.visible_server(req, deps.db, server_id)
    service.check(server, "unshelve")
    where = _where(deps, req, server, argument or {})
    check_lock(req, server)
    admit = None
    if server.vm_state == st.SHELVED_OFFLOADED and deps.quota is not None:
        admit = deps.quota.unshelve_check(server.project_id, server.flavor)
    if admit is not None:
        with deps.db.read() as conn:  # writers take turns: the count includes theirs
            admit(conn)
    service.request(deps.db, server_id, "unshelve", owner=deps.owner)
    record(deps, req, server_id, actions.UNSHELVE)
    deps.shelving.unshelve(server_id, where)
    return json_response(None, status=202)


def _where(deps: ComputeDeps, req: Request, server: servers.Server, body: Any) -> Unshelve:
    """The zone and host an unshelve asks for, checked as Nova checks them."""
    unpin = (
        at_least(req, "2.91") and "availability_zone" in body and body["availability_zone"] is None
    )
    zone = body.get("availability_zone") if at_least(req, "2.77") else None
    host = body.get("host") if at_least(req, "2.91") else None
    if (zone is not None or host is not None or unpin) and (
        server.vm_state != st.SHELVED_OFFLOADED
    ):
        raise HTTPError(
            409,
            f"Specifying an availability zone or a host when unshelving server "
            f"{server.uuid} with status {server.vm_state.upper()} is not supported. The "
            "server status must be SHELVED_OFFLOADED.",
        )
    aggregates = aggregate_db.list_all(deps.db)
    if zone is not None:
        known = {a.availability_zone for a in aggregates if a.availability_zone}
        if zone not in known | {DEFAULT_ZONE}:
            raise HTTPError(
                400,
                f"The requested availability zone is not available: {zone!r} (zones: "
                f"{', '.join(sorted(known | {DEFAULT_ZONE}))}).",
            )
    if host is not None:
        caller.authorize(req, UNSHELVE_TO_HOST)
        try:
            hosts.get_host_by_name(deps.db, host)
        except errors.NotFound:
            raise HTTPError(400, f"Compute host {host} could not be found.") from None
        wanted = zone if zone is not None else (server.availability_zone or "").partition(":")[0]
        if wanted and not unpin and zone_of(host, aggregates) != wanted:
            raise HTTPError(400, f"Host {host} must be in the requested availability zone {wanted}")
    return Unshelve(zone=zone, host=host, unpin=unpin)
