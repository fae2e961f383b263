"""Instance actions as Nova records them: the Compute API starts an action when it
accepts a request (:func:`begin`), and each workflow step the control plane runs for
it is an event (:func:`event`) that ends ``Success`` or ``Error`` with the reason.
``openstack server event list/show`` reads them back."""

from __future__ import annotations

import contextlib
import logging
import uuid as uuidlib
from collections.abc import Iterator

from sqlalchemy.exc import SQLAlchemyError

from virtfleet import errors
from virtfleet.db import instance_actions
from virtfleet.db.engine import Database

LOG = logging.getLogger(__name__)

# Nova's action names (nova.compute.instance_actions), by what virtfleet serves.
CREATE = "create"
DELETE = "delete"
STOP = "stop"
START = "start"
REBOOT = "reboot"
PAUSE = "pause"
UNPAUSE = "unpause"
SUSPEND = "suspend"
RESUME = "resume"
LOCK = "lock"
UNLOCK = "unlock"
RESCUE = "rescue"
UNRESCUE = "unrescue"
SHELVE = "shelve"
SHELVE_OFFLOAD = "shelveOffload"
UNSHELVE = "unshelve"
REBUILD = "rebuild"
CREATE_IMAGE = "createImage"
LIVE_MIGRATION = "live-migration"


def begin(
    db: Database,
    instance_uuid: str,
    action: str,
    request_id: str,
    user_id: str | None,
    project_id: str | None,
) -> None:
    """Record the action the API accepted (before its workflow is handed over)."""
    instance_actions.start(db, instance_uuid, action, request_id, user_id, project_id)


class Step:
    """The event being recorded; :meth:`fail` ends it ``Error`` without raising."""

    def __init__(self) -> None:
        self.failure: str | None = None
        self.host: str | None = None  # where the step ran, once known

    def fail(self, reason: str) -> None:
        self.failure = reason


@contextlib.contextmanager
def event(
    db: Database, instance_uuid: str, action: str, name: str, host: str | None = None
) -> Iterator[Step]:
    """Record step ``name`` of the server's newest ``action`` (one started by the
    control plane itself is recorded first): ``Error`` with the message when the
    block raises or calls :meth:`Step.fail`, ``Success`` otherwise. Recording never
    breaks the workflow."""
    step = Step()
    event_id: int | None = None
    try:
        found = instance_actions.latest(db, instance_uuid, action)
        action_id = (
            found.id
            if found is not None
            else instance_actions.start(db, instance_uuid, action, f"req-{uuidlib.uuid4()}").id
        )
        event_id = instance_actions.event_start(db, action_id, name, host)
    except (
        errors.VirtfleetError,
        SQLAlchemyError,
    ) as exc:  # the database hiccuped: the work still runs
        LOG.warning("cannot record %s of %s: %s", name, instance_uuid, exc)
    try:
        yield step
    except BaseException as exc:
        _finish(db, event_id, instance_actions.ERROR, _message(exc), step.host)
        raise
    if step.failure is not None:
        _finish(db, event_id, instance_actions.ERROR, step.failure, step.host)
    else:
        _finish(db, event_id, instance_actions.SUCCESS, None, step.host)


def _message(exc: BaseException) -> str:
    if isinstance(exc, errors.VirtfleetError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _finish(
    db: Database, event_id: int | None, result: str, details: str | None, host: str | None
) -> None:
    if event_id is None:
        return
    try:
        instance_actions.event_finish(db, event_id, result, details, host)
    except (errors.VirtfleetError, SQLAlchemyError) as exc:
        LOG.warning("cannot record the end of event %s: %s", event_id, exc)
