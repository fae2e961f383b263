"""Instance actions as Nova records them: the Compute API starts an action when it
accepts a request (:func:`begin`), and each workflow step the control plane runs for
it is an event (:func:`event`) that ends ``Success`` or ``Error`` with the reason.
``openstack server event list/show`` reads them back."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy.exc import SQLAlchemyError

from virtfleet import errors
from virtfleet.db import instance_actions
from virtfleet.db.engine import Database
from virtfleet.observability import metrics, request_id

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
EVACUATE = "evacuate"
CREATE_IMAGE = "createImage"
LIVE_MIGRATION = "live-migration"
MIGRATE = "migrate"
RESIZE = "resize"
CONFIRM_RESIZE = "confirmResize"
REVERT_RESIZE = "revertResize"


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
    action_request: str | None = None
    try:
        found = instance_actions.latest(db, instance_uuid, action)
        if found is None:
            found = instance_actions.start(
                db, instance_uuid, action, request_id.current() or request_id.new()
            )
        action_request = found.request_id
        event_id = instance_actions.event_start(db, found.id, name, host)
    except (
        errors.VirtfleetError,
        SQLAlchemyError,
    ) as exc:  # the database hiccuped: the work still runs
        LOG.warning("cannot record %s of %s: %s", name, instance_uuid, exc)
    timer = metrics.Timer()
    # The work runs under the request id of the action (the API request that asked for
    # it), unless it already runs under one (e.g. handed over with the request).
    with request_id.bound(None if request_id.current() else action_request):
        try:
            yield step
        except BaseException as exc:
            _finish(db, event_id, instance_actions.ERROR, _message(exc), step.host)
            _completed(action, instance_uuid, _message(exc), step.host, timer)
            raise
        _finish(
            db,
            event_id,
            instance_actions.ERROR if step.failure is not None else instance_actions.SUCCESS,
            step.failure,
            step.host,
        )
        _completed(action, instance_uuid, step.failure, step.host, timer)


def _completed(
    action: str, instance_uuid: str, failure: str | None, host: str | None, timer: metrics.Timer
) -> None:
    """Count the completed action and say so in one line with its duration."""
    seconds = timer.elapsed()
    outcome = "error" if failure is not None else "success"
    metrics.SERVER_ACTIONS.labels(action, outcome).inc()
    metrics.SERVER_ACTION_DURATION.labels(action, outcome).observe(seconds)
    where = f" on {host}" if host else ""
    if failure is None:
        LOG.info("%s of server %s%s succeeded in %.3fs", action, instance_uuid, where, seconds)
    else:
        LOG.info(
            "%s of server %s%s failed in %.3fs: %s", action, instance_uuid, where, seconds, failure
        )


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
