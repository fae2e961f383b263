"""Server actions (``POST /servers/{id}/action``): one row per action in
:data:`ACTIONS` — the vm_states it is allowed from, the task_state it sets, and the
handler that hands it to the conductor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import webob

from virtfleet.api.compute import common
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import servers
from virtfleet.db.servers import Server

REBOOT_TYPES = ("HARD", "SOFT")


@dataclass(frozen=True)
class Action:
    allowed_vm_states: tuple[str, ...]
    task_state: str | None  # set before the conductor is called (None: unchanged)
    run: Callable[[ComputeDeps, Server, Any], webob.Response]
    needs_host: bool = False


def _stop(deps: ComputeDeps, server: Server, body: Any) -> webob.Response:
    deps.conductor.stop_server(server.uuid)
    return json_response(None, status=202)


def _start(deps: ComputeDeps, server: Server, body: Any) -> webob.Response:
    deps.conductor.start_server(server.uuid)
    return json_response(None, status=202)


def _reboot(deps: ComputeDeps, server: Server, body: Any) -> webob.Response:
    deps.conductor.reboot_server(server.uuid, hard=_reboot_type(body) == "HARD")
    return json_response(None, status=202)


def _console_output(deps: ComputeDeps, server: Server, body: Any) -> webob.Response:
    length = _console_length(body)
    output = deps.conductor.get_console_output(server.uuid, length)
    return json_response({"output": output})


def _reboot_type(body: Any) -> str:
    kind = body.get("type") if isinstance(body, dict) else None
    if not isinstance(kind, str) or kind.upper() not in REBOOT_TYPES:
        raise HTTPError(400, f"Invalid input for reboot: type {kind!r} must be HARD or SOFT.")
    return kind.upper()


def _console_length(body: Any) -> int | None:
    if body is None:
        return None
    if not isinstance(body, dict):
        raise HTTPError(400, "Invalid input for os-getConsoleOutput: expected an object.")
    length = body.get("length")
    if length is None:
        return None
    number = common.integer("length", length, -1)
    return None if number == -1 else number


ACTIONS: dict[str, Action] = {
    "os-stop": Action(("active", "error"), "powering-off", _stop, needs_host=True),
    "os-start": Action(("stopped",), "powering-on", _start, needs_host=True),
    "reboot": Action(("active", "stopped", "error"), "rebooting", _reboot, needs_host=True),
    "os-getConsoleOutput": Action(
        ("active", "stopped", "error", "paused", "suspended"),
        None,
        _console_output,
        needs_host=True,
    ),
}


class ActionHandlers:
    def __init__(self, deps: ComputeDeps) -> None:
        self.deps = deps

    def action(self, req: Request, server_id: str) -> webob.Response:
        body = req.json_body_or_400()
        if not isinstance(body, dict) or len(body) != 1:
            raise HTTPError(
                400,
                "Invalid action body: expected an object with exactly one action name as its key.",
            )
        name, argument = next(iter(body.items()))
        action = ACTIONS.get(name)
        if action is None:
            raise HTTPError(
                400, f"There is no such action: {name} (supported: {', '.join(ACTIONS)})."
            )
        server = common.visible_server(req, self.deps.db, server_id)
        if server.vm_state not in action.allowed_vm_states or server.task_state is not None:
            raise HTTPError(
                409,
                f"Cannot '{name}' instance {server_id} while it is in "
                f"vm_state {server.vm_state}, task_state {server.task_state}.",
            )
        if action.needs_host and not server.host:
            raise HTTPError(409, f"Cannot '{name}' instance {server_id}: it is not on a host.")
        task_state = action.task_state
        if name == "reboot" and _reboot_type(argument) == "HARD":
            task_state = "rebooting_hard"
        elif name == "reboot" and server.vm_state != "active":
            raise HTTPError(
                409,
                f"Cannot soft 'reboot' instance {server_id} while it is in "
                f"vm_state {server.vm_state}; use a HARD reboot.",
            )
        if task_state is not None:
            servers.update(self.deps.db, server_id, task_state=task_state)
        return action.run(self.deps, server, argument)
