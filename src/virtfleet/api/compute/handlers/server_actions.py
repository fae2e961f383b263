"""Server actions (``POST /servers/{id}/action``): the dispatcher that runs the one
action named in the body, and the power and console actions (which the servers
service allows or refuses with a 409 naming the server's state). ``routes.SERVER_ACTIONS``
is the table of actions with their policy rules (``os-migrateLive`` lives with the
other migration handlers in ``server_migrations``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import webob

from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.handlers.server_state_actions import begin
from virtfleet.api.compute.schemas import server_action as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.wsgi import HTTPError, Request, enforce, json_response
from virtfleet.servers import actions, service

#: ``handler(deps, req, server_id, argument)``: one server action.
ActionHandler = Callable[[ComputeDeps, Request, str, Any], webob.Response]


class ServerAction(NamedTuple):
    """One row of the server action table: the body key, its handler, its policy rule."""

    name: str
    handler: ActionHandler
    policy: str


def dispatcher(actions: Sequence[ServerAction]) -> Callable[..., webob.Response]:
    """The ``POST /servers/{id}/action`` handler over ``actions``."""
    by_name = {action.name: action for action in actions}

    def action(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
        """POST /servers/{id}/action: run the one action named in the body (the
        action's own policy rule replaces the route's in the environment)."""
        body = req.json_body_or_400()
        validate_body(req, body, schema.ACTION)
        name, argument = next(iter(body.items()))
        found = by_name.get(name)
        if found is None:
            raise HTTPError(
                400, f"There is no such action: {name} (supported: {', '.join(by_name)})."
            )
        enforce(req, found.policy)
        return found.handler(deps, req, server_id, argument)

    return action


def stop(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``os-stop``: power the guest off (SHUTOFF)."""
    validate_body(req, argument, schema.STOP)
    begin(deps, req, server_id, "stop", actions.STOP)
    deps.conductor.stop_server(server_id)
    return json_response(None, status=202)


def start(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``os-start``: power a stopped guest on (ACTIVE)."""
    validate_body(req, argument, schema.START)
    begin(deps, req, server_id, "start", actions.START)
    deps.conductor.start_server(server_id)
    return json_response(None, status=202)


def reboot(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``reboot`` ``{"type": "SOFT"|"HARD"}``: a soft reboot needs a running guest."""
    service.check(access.visible_server(req, deps.db, server_id), "reboot_hard")
    validate_body(req, argument, schema.REBOOT)
    hard = argument["type"].upper() == "HARD"
    begin(deps, req, server_id, "reboot_hard" if hard else "reboot_soft", actions.REBOOT)
    deps.conductor.reboot_server(server_id, hard=hard)
    return json_response(None, status=202)


def console_output(
    deps: ComputeDeps, req: Request, server_id: str, argument: Any
) -> webob.Response:
    """``os-getConsoleOutput`` ``{"length": N}``: the last N lines of the serial log."""
    service.check(access.visible_server(req, deps.db, server_id), "console_output")
    validate_body(req, argument, schema.CONSOLE_OUTPUT)
    output = deps.conductor.get_console_output(server_id, _console_length(argument))
    return json_response({"output": output})


def _console_length(body: dict[str, Any] | None) -> int | None:
    """The lines asked for (None: all); the schema checked the body."""
    length = None if body is None else body.get("length")
    if length is None:
        return None
    number = field_checks.integer("length", length, -1)
    return None if number == -1 else number
