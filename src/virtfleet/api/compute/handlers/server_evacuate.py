"""Evacuation of a server from a host that is down.

    POST /servers/{id}/action  {"evacuate": {"host": H, "adminPass": P,
                                             "onSharedStorage": B (before 2.14),
                                             "force": B (2.29-2.67)}}     admin; 200

Only a server whose host's compute service is down (its agent stopped reporting) or
forced down (``openstack compute service set --down``) is evacuated; otherwise 409.
The server goes to a host the scheduler picks (or ``host``, checked the same way:
``force`` is accepted but checks are never skipped); from 2.95 it lands stopped. As in
Nova, before 2.14 the caller says whether its disk is on shared storage
(``onSharedStorage``; true with ``adminPass`` is a 400: the kept disk keeps its
password, and the answer's ``adminPass`` is null); from 2.14 the destination decides.
A destination that sees the disk on its instances path defines the guest again with
it; one that does not rebuilds it from its image; one that disagrees with the
caller's ``onSharedStorage`` is refused with the reason (the next host is tried).
The workflow is the conductor's ``evacuations``
(:mod:`virtfleet.conductor.moves.evacuations`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import webob

from virtfleet import errors
from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.admin_password import with_admin_pass
from virtfleet.api.compute.boot_access import checked_admin_pass
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.handlers.server_state_actions import record
from virtfleet.api.compute.schemas import server_rebuild as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import hosts
from virtfleet.servers import actions, service


def evacuate(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``evacuate``: rebuild the server of a down host on another host."""
    access.require_admin(req, "os_compute_api:os-evacuate")
    validate_body(req, argument, schema.EVACUATE)
    server = access.visible_server(req, deps.db, server_id)
    service.check(server, "evacuate")
    on_shared_storage: bool | None = None  # from 2.14 the destination decides
    if not at_least(req, "2.14"):
        on_shared_storage = field_checks.boolean("onSharedStorage", argument["onSharedStorage"])
        if on_shared_storage and "adminPass" in argument:
            raise HTTPError(400, "admin password can't be changed on existing disk")
    host = argument.get("host")
    if host is not None:
        try:
            hosts.get_host_by_name(deps.db, host)
        except errors.NotFound:
            raise HTTPError(404, f"Compute host {host} not found.") from None
        if host == server.host:
            raise HTTPError(400, "The target host can't be the same one.")
    assert server.host is not None  # service.check: needs_host
    _source_is_down(deps, server.host)
    # the disk kept on shared storage keeps its password: none is made up for it
    password = None if on_shared_storage else checked_admin_pass(argument.get("adminPass"))
    service.request(deps.db, server_id, "evacuate", owner=deps.owner)
    record(deps, req, server_id, actions.EVACUATE)
    try:
        deps.evacuations.start(
            server_id, host, stop=at_least(req, "2.95"), on_shared_storage=on_shared_storage
        )
    except Exception:
        with contextlib.suppress(service.InvalidServerState):
            service.request(deps.db, server_id, "evacuation_ended")
        raise
    if at_least(req, "2.14"):
        return json_response(None, status=200)
    return json_response(with_admin_pass(deps.conf, {}, password), status=200)


def _source_is_down(deps: ComputeDeps, host: str) -> None:
    """409 unless ``host``'s compute service is down or forced down."""
    down_after = float(deps.conf.compute.host_down_after) if deps.conf is not None else 0.0
    try:
        record_ = hosts.get_host_by_name(deps.db, host)
    except errors.NotFound:
        return  # a host that never reported (or was removed) runs nothing
    if record_.is_down(down_after):
        return
    raise HTTPError(
        409,
        f"Compute service of {host} is still in use: only servers of a host whose compute "
        f"service is down or forced down are evacuated (`openstack compute service set "
        f"--down {host} nova-compute` once the host is fenced).",
    )
