"""Image API error bodies, as Glance (webob) renders them in JSON:
``{"message": "...", "code": "404 Not Found", "title": "Not Found"}``."""

from __future__ import annotations

from http import HTTPStatus

import webob

from virtfleet.api.wsgi import HTTPError, Request, json_response


def render_error(req: Request, error: HTTPError) -> webob.Response:
    phrase = HTTPStatus(error.status).phrase
    body = {"message": error.message, "code": f"{error.status} {phrase}", "title": phrase}
    return json_response(body, status=error.status)
