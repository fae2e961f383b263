"""Pages from the package's Jinja2 templates: every value escaped (autoescape on all
templates), no inline script (the Content-Security-Policy allows only the dashboard's
own script file), never cached, never framed."""

from __future__ import annotations

import functools
from typing import Any

import jinja2
import webob

from virtfleet.api.dashboard import session
from virtfleet.api.wsgi import Request

#: The notices a page shows after an action (a fixed code in the URL, never free text).
NOTICES = {
    "live-migrate": "Live migration started.",
    "delete": "Delete requested.",
    "disable": "Host disabled.",
    "enable": "Host enabled.",
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("virtfleet.api.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(req: Request, template: str, status: int = 200, **context: Any) -> webob.Response:
    """``template`` rendered with ``context`` plus what every page needs (the CSRF
    token of the session, whether this is the test mode, the current path)."""
    current = req.environ.get(session.SESSION_KEY)
    body = (
        environment()
        .get_template(template)
        .render(
            csrf=session.csrf_token(current) if current else "",
            path=req.path_qs,
            prefix=session.PREFIX,
            notices=NOTICES,
            **context,
        )
    )
    resp = webob.Response(status=status, charset="utf-8", content_type="text/html")
    resp.text = body
    resp.headers.update(SECURITY_HEADERS)
    return resp
