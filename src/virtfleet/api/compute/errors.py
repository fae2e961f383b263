"""Compute API error bodies: ``{"<name>": {"code": <status>, "message": "..."}}``
with Nova's names per status."""

from __future__ import annotations

import webob

from virtfleet.api.wsgi import HTTPError, Request, json_response

FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "HTTPNotAcceptable",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def render_error(req: Request, error: HTTPError) -> webob.Response:
    name = FAULT_NAMES.get(error.status, "computeFault")
    body = {name: {"code": error.status, "message": error.message}}
    return json_response(body, status=error.status)
