"""The outermost middleware of an API listener: every request gets its request id and
is counted.

- The request id is the client's ``X-OpenStack-Request-ID`` when it has OpenStack's
  form ``req-<uuid>``, else a new one (a malformed one is ignored, as OpenStack
  services ignore it); it is bound for the request's log lines, kept in the WSGI
  environment for the handlers (instance actions record it) and returned as
  ``x-openstack-request-id`` on every answer, a 401 from ``auth_token`` included.
- Each request is observed in ``virtfleet_api_request_duration_seconds`` by method,
  route template (``/compute/servers/{server_id}``; ``unmatched`` when no route took
  it, e.g. a 401 before routing or a 404) and status.
- Each request is one INFO line of logger ``virtfleet.api.access`` under its id, as
  Nova's API logs its requests: client address, method and path (percent-encoded),
  status, the answer's length and the time until the answer started.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Iterable
from typing import Any

from virtfleet.api.auth import WSGIApp
from virtfleet.api.wsgi import (
    REQUEST_ID_ENVIRON_KEY,
    ROUTE_ENVIRON_KEY,
    StartResponse,
    WSGIEnviron,
)
from virtfleet.observability import metrics, request_id

LOG = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger("virtfleet.api.access")

HEADER = "x-openstack-request-id"
UNMATCHED = "unmatched"
#: Methods counted by name; any other is counted as OTHER (a label per made-up method
#: would let clients grow the metrics without bound).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The most of a request's path and query an access line shows.
LOGGED_TARGET_CHARS = 300


def request_id_of(environ: WSGIEnviron) -> str:
    """The client's ``X-OpenStack-Request-ID`` if well formed, else a new id."""
    given = environ.get("HTTP_X_OPENSTACK_REQUEST_ID")
    if request_id.is_valid(given):
        return str(given)
    if given:
        LOG.debug("ignoring a malformed X-OpenStack-Request-ID %r", given[:80])
    return request_id.new()


def _target(environ: WSGIEnviron) -> str:
    """The request's path and query as sent (percent-encoded: no control characters
    reach the log), cut at LOGGED_TARGET_CHARS."""
    path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    # PEP 3333: the path is the request's bytes decoded as latin-1
    target = urllib.parse.quote(path.encode("latin-1", "replace"), safe="/:@!$&'()*+,;=~{}")
    raw_query = str(environ.get("QUERY_STRING", "")).encode("latin-1", "replace")
    query = urllib.parse.quote(raw_query, safe="/:@!$&'()*+,;=~?%")
    if query:
        target = f"{target}?{query}"
    return target if len(target) <= LOGGED_TARGET_CHARS else target[:LOGGED_TARGET_CHARS] + "..."


def observed(app: WSGIApp) -> WSGIApp:
    """``app`` with request ids and request metrics (see the module's docstring)."""

    def observe(environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        rid = request_id_of(environ)
        environ[REQUEST_ID_ENVIRON_KEY] = rid
        timer = metrics.Timer()
        status: list[str] = []
        length: list[str] = []

        def start(status_line: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            status.append(status_line.split(" ", 1)[0])
            length[:] = [value for name, value in headers if name.lower() == "content-length"]
            if not any(name.lower() == HEADER for name, _ in headers):
                headers = [*headers, (HEADER, rid)]
            return start_response(status_line, headers, *exc)

        with request_id.bound(rid):
            try:
                return app(environ, start)
            finally:
                route = str(environ.get(ROUTE_ENVIRON_KEY) or UNMATCHED)
                method = str(environ.get("REQUEST_METHOD", ""))
                method = method if method in METHODS else "OTHER"
                code, elapsed = status[0] if status else "500", timer.elapsed()
                metrics.API_REQUESTS.labels(method, route, code).observe(elapsed)
                ACCESS_LOG.info(
                    '%s "%s %s" status: %s len: %s time: %.3fs',
                    environ.get("REMOTE_ADDR") or "-", method, _target(environ), code,
                    length[0] if length else "-", elapsed,
                )  # fmt: skip

    return observe
