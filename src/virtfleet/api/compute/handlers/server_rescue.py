"""Rescue and unrescue of a server, as Nova's ``os-rescue`` offers them.

    POST /servers/{id}/action  {"rescue": {"adminPass": P, "rescue_image_ref": I}}
    POST /servers/{id}/action  {"unrescue": null}

A rescue (from ACTIVE, SHUTOFF or ERROR, Nova's states) boots the server on its host
from the rescue image (``rescue_image_ref``, else the server's own image) with its own
root disk attached second (a stable device rescue, the image's ``hw_rescue_device`` /
``hw_rescue_bus``: attached as that device beside its own disks, booted first), and
answers 200 with ``adminPass`` (the one given or a
generated one; ``{}`` with ``[api] enable_instance_password`` false). An unrescue
(from RESCUE only) boots it from its own disk again: 202. An image the caller cannot
see, one without data, or one whose architecture cannot run as the server's guest
(:mod:`virtfleet.api.compute.rescue_image`) is a 400 before anything changes; the conductor's
``rescues`` (:mod:`virtfleet.conductor.rescue`) do the work on the host.
"""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.admin_password import with_admin_pass
from virtfleet.api.compute.boot_access import checked_admin_pass
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.handlers.server_state_actions import begin, check_lock
from virtfleet.api.compute.rescue_image import (
    check_arch,
    rescue_device,
    rescue_guest,
    server_guest_arch,
    usable_image,
)
from virtfleet.api.compute.schemas import server_action as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.wsgi import Request, json_response
from virtfleet.servers import actions, service


def rescue(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``rescue``: boot the server from a rescue image, its own disk second."""
    validate_body(req, argument, schema.RESCUE)
    given = argument or {}
    server = access.visible_server(req, deps.db, server_id)
    check_lock(req, server)
    service.check(server, "rescue")
    if "rescue_image_ref" in given:
        image = usable_image(deps, req, field_checks.ref_id(given["rescue_image_ref"]), True)
    else:
        image = usable_image(deps, req, server.image_ref, False)
    guest_arch = server_guest_arch(deps, server)
    check_arch(image, rescue_guest(image, server), server, guest_arch)
    device = rescue_device(image, server, guest_arch)
    password = checked_admin_pass(given.get("adminPass"))
    begin(deps, req, server_id, "rescue", actions.RESCUE)
    if device is None:
        deps.conductor.rescue_server(server_id, image.id)
    else:
        deps.conductor.rescue_server(server_id, image.id, device)
    return json_response(with_admin_pass(deps.conf, {}, password), status=200)


def unrescue(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``unrescue``: boot the rescued server from its own disk again."""
    validate_body(req, argument, schema.UNRESCUE)
    begin(deps, req, server_id, "unrescue", actions.UNRESCUE)
    deps.conductor.unrescue_server(server_id)
    return json_response(None, status=202)
