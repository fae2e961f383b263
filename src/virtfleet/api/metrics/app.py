"""The ``/metrics`` application and its optional unauthenticated listener."""

from __future__ import annotations

from collections.abc import Sequence

import webob
from oslo_config import cfg

from virtfleet.api.listener import HttpListener
from virtfleet.api.metrics.routes import ROUTES
from virtfleet.api.observe import observed
from virtfleet.api.wsgi import HTTPError, PrefixDispatcher, Request, Router, bind, json_response
from virtfleet.observability.metrics import TextSource


def _render_error(req: Request, error: HTTPError) -> webob.Response:
    return json_response({"error": {"code": error.status, "message": error.message}}, error.status)


def make_metrics_app(sources: Sequence[TextSource] = ()) -> Router:
    """The metrics API (``GET /``) over the process's metrics and ``sources``."""
    return Router(bind(ROUTES, tuple(sources)), _render_error)


def unauthenticated_listener(
    conf: cfg.ConfigOpts, sources: Sequence[TextSource] = ()
) -> HttpListener | None:
    """A started listener on ``[metrics] listen`` serving ``/metrics`` without tokens
    (nothing else), or None when the option is unset."""
    listen = conf.metrics.listen
    if not listen:
        return None
    app = PrefixDispatcher({"metrics": make_metrics_app(sources)}, root=_not_found)
    listener = HttpListener(observed(app), conf.api, listen=listen)
    listener.start()
    return listener


_not_found = Router([], _render_error)
