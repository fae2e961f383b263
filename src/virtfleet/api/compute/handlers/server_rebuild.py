"""Rebuild of a server on its own host from a (new) image.

    POST /servers/{id}/action  {"rebuild": {"imageRef": I, "name", "adminPass",
        "metadata", "description" (2.19), "key_name" (2.54), "user_data" (2.57),
        "hostname" (2.90), ...}}

The new image is checked as a boot checks it, through the one guest-request resolver
(:func:`~virtfleet.api.compute.boot_checks.check_boot`: architecture, emulation,
machine type, maxphysaddr, the image's other rules with the server's flavor), then
against the server's own host (:mod:`virtfleet.scheduler.rebuild_check`): a rebuild
never changes host, so an image that host cannot run is a 400 before anything is
touched. The answer is 202 with the server (and ``adminPass``); the conductor's
``rebuilds`` (:mod:`virtfleet.conductor.rebuild`) recreate the disk from the image.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import webob

from virtfleet import errors
from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.admin_password import with_admin_pass
from virtfleet.api.compute.boot_access import (
    checked_admin_pass,
    checked_hostname,
    checked_key,
    checked_user_data,
)
from virtfleet.api.compute.boot_checks import check_boot, image_snapshot, server_flavor
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.handlers.server_addresses import addresses
from virtfleet.api.compute.handlers.server_state_actions import check_lock, record
from virtfleet.api.compute.schemas import server_rebuild as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views.servers import detail_view
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.conductor import boot
from virtfleet.db import hosts, servers
from virtfleet.db.images import Image
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.scheduler import rebuild_check
from virtfleet.servers import actions, service


def rebuild(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``rebuild``: the server's disk recreated from ``imageRef`` on its host."""
    validate_body(req, argument, schema.REBUILD)
    server = access.visible_server(req, deps.db, server_id)
    check_lock(req, server)
    service.check(server, "rebuild")
    image_id = field_checks.ref_id(str(argument["imageRef"]))
    image = access.visible_image(req, deps.db, image_id)
    guest = _guest_request(deps, server, image)
    _host_runs(deps, server, image, guest)
    changes: dict[str, Any] = {
        "image_ref": image.id,
        "image": image_snapshot(image),
        "guest_request": guest,
    }
    if "key_name" in argument:
        changes["key_name"], changes["key_data"] = checked_key(deps.db, req, argument["key_name"])
    if "user_data" in argument:
        changes["user_data"] = checked_user_data(argument["user_data"])
    password = checked_admin_pass(argument.get("adminPass"))
    fields = _record_fields(argument)
    if "hostname" in argument:
        fields["hostname"] = checked_hostname(req, argument["hostname"])
    service.request(deps.db, server_id, "rebuild", owner=deps.owner, **fields)
    record(deps, req, server_id, actions.REBUILD)
    try:
        deps.rebuilds.start(server_id, changes)
    except Exception:
        with contextlib.suppress(service.InvalidServerState):
            service.request(deps.db, server_id, "action_failed")
        raise
    server = servers.get(deps.db, server_id)
    # as an update: 2.71 adds the server's groups, 2.75 makes it the whole show body
    shown = detail_view(
        req,
        server,
        show=at_least(req, "2.71"),
        addresses=addresses(deps, server) if at_least(req, "2.75") else None,
    )
    return json_response({"server": with_admin_pass(deps.conf, shown, password)}, status=202)


def _record_fields(argument: dict[str, Any]) -> dict[str, Any]:
    """What the API writes at once (nothing the guest is built from)."""
    fields: dict[str, Any] = {}
    if "name" in argument:
        fields["name"] = argument["name"]
    if "metadata" in argument:
        fields["metadata"] = dict(argument["metadata"])
    if "description" in argument:
        fields["description"] = argument["description"]
    return fields


def _guest_request(deps: ComputeDeps, server: servers.Server, image: Image) -> GuestRequest:
    """The guest request of the new image with the server's flavor, resolved as a boot
    resolves it (400 naming what the pair cannot do); NICs and config drive carry over."""
    flavor = server_flavor(server)
    try:
        guest = check_boot(flavor, image, deps.conf, server.guest_request.config_drive)
    except errors.InvalidInput as exc:
        raise HTTPError(400, f"Cannot rebuild with image {image.id}: {exc.message}") from None
    return guest.with_nics(list(server.guest_request.nics))


def _host_runs(
    deps: ComputeDeps, server: servers.Server, image: Image, guest: GuestRequest
) -> None:
    """400 when the server's host cannot run the rebuilt guest (a rebuild never moves)."""
    assert server.host is not None  # service.check: needs_host
    try:
        host = hosts.get_host_by_name(deps.db, server.host)
    except errors.NotFound:
        raise HTTPError(409, f"Host {server.host} of {server.uuid} is not known.") from None
    target = dataclasses.replace(server, image=image_snapshot(image), guest_request=guest)
    spec = boot.request_spec(target)
    _, traits = deps.placement.get_provider_traits(host.uuid)
    why = rebuild_check.host_refusal(host, traits, spec)
    if why is not None:
        raise HTTPError(
            400,
            f"Cannot rebuild {server.uuid} with image {image.id}: {why}; a rebuild stays on "
            "its host (move the server first).",
        )
