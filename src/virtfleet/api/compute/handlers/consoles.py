"""Remote consoles: ``POST /servers/{id}/remote-consoles`` (2.6+), the older
``os-getVNCConsole`` / ``os-getSerialConsole`` actions (2.1-2.5), and the admin's
``GET /os-console-auth-tokens/{token}``; and the root password (``changePassword``),
which the guest agent sets.

A console URL is made in three steps: the server's agent opens a one-connection
relay to the guest's console (``ComputeClient.get_console``), a token bound to that
relay, the server and the console type is stored (hashed, with an expiry), and the
console proxy's URL for the token is returned. virtfleet serves ``vnc``/``novnc`` and
``serial``/``serial``; the other protocols and types Nova knows are 400s.
"""

from __future__ import annotations

from typing import Any

import webob

from virtfleet import errors
from virtfleet.api.compute import access, versions
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import Versioned, validate_body
from virtfleet.api.compute.schemas import console as schema
from virtfleet.api.compute.views.servers import status
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db.servers import Server
from virtfleet.servers import console_tokens

#: (protocol, type) virtfleet serves -> the agent's console kind.
SERVED = {("vnc", "novnc"): "vnc", ("serial", "serial"): "serial"}
PROTOCOL_OF_TYPE = {"novnc": "vnc", "xvpvnc": "vnc", "serial": "serial"}


def create(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """POST /servers/{id}/remote-consoles (2.6+): ``{"remote_console": {"protocol",
    "type"}}`` -> the console's URL."""
    if not versions.at_least(req, "2.6"):
        raise HTTPError(404, "Remote consoles need microversion 2.6 or later.")
    server = access.visible_server(req, deps.db, server_id)
    body = req.json_body_or_400()
    validate_body(req, body, schema.REMOTE_CONSOLE)
    protocol, console_type = body["remote_console"]["protocol"], body["remote_console"]["type"]
    url = _console_url(deps, server, protocol, console_type)
    return json_response(
        {"remote_console": {"protocol": protocol, "type": console_type, "url": url}}
    )


def vnc_action(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``os-getVNCConsole`` ``{"type": "novnc"}`` (2.1-2.5)."""
    return _action(deps, req, server_id, argument, "os-getVNCConsole", schema.VNC_CONSOLE)


def serial_action(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``os-getSerialConsole`` ``{"type": "serial"}`` (2.1-2.5)."""
    return _action(deps, req, server_id, argument, "os-getSerialConsole", schema.SERIAL_CONSOLE)


def _action(
    deps: ComputeDeps,
    req: Request,
    server_id: str,
    argument: Any,
    name: str,
    table: Versioned,
) -> webob.Response:
    if versions.at_least(req, "2.6"):
        raise HTTPError(
            404,
            f"{name} is not available from microversion 2.6 on: use "
            "POST /servers/{server_id}/remote-consoles.",
        )
    server = access.visible_server(req, deps.db, server_id)
    validate_body(req, argument, table)
    console_type = argument["type"]
    url = _console_url(deps, server, PROTOCOL_OF_TYPE[console_type], console_type)
    return json_response({"console": {"type": console_type, "url": url}})


def _console_url(deps: ComputeDeps, server: Server, protocol: str, console_type: str) -> str:
    kind = SERVED.get((protocol, console_type))
    if kind is None or deps.consoles is None:
        served = ", ".join(f"{p}/{t}" for p, t in SERVED)
        why = "" if deps.consoles is not None else " (the console proxy is disabled)"
        raise HTTPError(
            400,
            f"Unavailable console type {console_type} for protocol {protocol}{why}; "
            f"this cloud serves: {served}.",
        )
    if not server.host or server.vm_state != "active":
        raise HTTPError(
            409,
            f"Instance {server.uuid} is not ready for a console (status {status(server)}); "
            "it must be ACTIVE.",
        )
    try:
        relay = deps.conductor.get_console(server.uuid, kind)
    except errors.InvalidInput as exc:
        raise HTTPError(400, f"Unavailable console type {console_type}: {exc}.") from exc
    token = console_tokens.issue(
        deps.db,
        server.uuid,
        console_type,
        relay.host,
        relay.port,
        relay.secret,
        deps.consoles.token_ttl,
    )
    return deps.consoles.url(kind, token)


def change_password(
    deps: ComputeDeps, req: Request, server_id: str, argument: Any
) -> webob.Response:
    """``changePassword`` ``{"adminPass": "..."}``: root's password, set in the running
    guest by the QEMU guest agent (409 when the guest has none or it does not answer)."""
    server = access.visible_server(req, deps.db, server_id)
    validate_body(req, argument, schema.CHANGE_PASSWORD)
    if not server.host or server.vm_state != "active":
        raise HTTPError(
            409,
            f"Cannot 'changePassword' instance {server.uuid} while it is in vm_state "
            f"{server.vm_state}; it must be ACTIVE.",
        )
    deps.conductor.set_admin_password(server.uuid, argument["adminPass"])
    return json_response(None, status=202)


def show_token(deps: ComputeDeps, req: Request, console_token: str) -> webob.Response:
    """GET /os-console-auth-tokens/{token} (admin): what a live token opens. Before
    2.31 only rdp-html5 tokens could be shown (virtfleet hands out none)."""
    access.require_admin(req, "os_compute_api:os-console-auth-tokens")
    found = console_tokens.show(deps.db, console_token)
    if not versions.at_least(req, "2.31") and found.console_type != "rdp-html5":
        raise HTTPError(
            400,
            "The requested console type details are not accessible (microversion 2.31 "
            "or later shows every console type).",
        )
    return json_response(
        {
            "console": {
                "instance_uuid": found.instance_uuid,
                "host": found.host,
                "port": found.port,
                "internal_access_path": found.internal_access_path,
            }
        }
    )
