"""The request id of the work a thread is doing, as OpenStack services carry it.

An API request gets one (``req-<uuid>``; a client's ``X-OpenStack-Request-ID`` of that
form is kept); the conductor's workflows, RPC calls and the agent's work on the
request's behalf run with the same id bound, and every log line shows it
(:class:`virtfleet.observability.logs.RequestIdFilter`). It lives in a context
variable: a thread pool task sees it only when submitted with
:func:`contextvars.copy_context`.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import uuid
from collections.abc import Iterator

_CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "virtfleet_request_id", default=None
)

#: OpenStack's form of a request id (oslo.middleware accepts no other from clients).
_FORM = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def new() -> str:
    """A fresh request id, ``req-<uuid4>``."""
    return f"req-{uuid.uuid4()}"


def is_valid(value: object) -> bool:
    """Whether ``value`` is a request id of OpenStack's form ``req-<uuid>`` (lower case)."""
    return isinstance(value, str) and _FORM.fullmatch(value) is not None


def current() -> str | None:
    """The request id bound in this context, if any."""
    return _CURRENT.get()


@contextlib.contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Run the block with ``request_id`` bound (None: leave the current one)."""
    if request_id is None:
        yield
        return
    token = _CURRENT.set(request_id)
    try:
        yield
    finally:
        _CURRENT.reset(token)
