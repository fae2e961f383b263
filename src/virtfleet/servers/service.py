"""The servers service: applies the transitions of :data:`states.TRANSITIONS` to the
database, each checked against the server as it is at the moment of the write.

The Compute API calls :func:`check` early (so a refusal comes before other checks, as
Nova answers) and :func:`request` to begin a task; the conductor calls
:func:`request` to move a task on and end it (``resume=True`` when it picks up a task
the API began). A refusal is :class:`InvalidServerState`, a Conflict (409).
"""

from __future__ import annotations

from typing import Any

from virtfleet import errors
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.db.servers import Server
from virtfleet.servers import states


class InvalidServerState(errors.Conflict):
    """A transition the server's current state does not allow."""

    def __init__(self, message: str, transition: str, server: Server) -> None:
        super().__init__(message)
        self.transition = transition
        self.vm_state = server.vm_state
        self.task_state = server.task_state


def check(server: Server, transition: str, resume: bool = False) -> None:
    """Raise :class:`InvalidServerState` unless ``transition`` may run on ``server``
    now; with ``resume``, a server already in the transition's task also passes."""
    row = states.TRANSITIONS[transition]
    already_begun = row.writes and server.task_state == row.task_state
    if resume and already_begun and server.vm_state in row.vm_states:
        return
    problem = states.refusal(
        transition, server.uuid, server.vm_state, server.task_state, server.host
    )
    if problem is not None:
        raise InvalidServerState(problem, transition, server)


def request(
    db: Database, server_uuid: str, transition: str, *, resume: bool = False, **fields: Any
) -> Server:
    """Apply ``transition`` (its state fields and any other ``fields``, e.g. ``host``
    or ``fault``) in one write, refused as :func:`check` says on the row as it is now.
    NotFound when the server does not exist (or is deleted)."""
    if not states.TRANSITIONS[transition].writes:
        raise ValueError(f"transition {transition} is a check only; nothing to write")
    return servers.update_if(
        db,
        server_uuid,
        lambda server: check(server, transition, resume),
        **states.writes(transition),
        **fields,
    )
