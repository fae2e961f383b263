"""Networking API error bodies, as Neutron renders them:
``{"NeutronError": {"type": "MacAddressInUse", "message": "...", "detail": ""}}``."""

from __future__ import annotations

from http import HTTPStatus

import webob

from virtfleet.api.wsgi import HTTPError, Request, json_response


def render_error(req: Request, error: HTTPError) -> webob.Response:
    kind = error.code or "HTTP" + HTTPStatus(error.status).phrase.replace(" ", "")
    body = {"NeutronError": {"type": kind, "message": error.message, "detail": ""}}
    return json_response(body, status=error.status)
