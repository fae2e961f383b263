"""The Networking API v2.0 subset (mounted at ``/networking``)."""

from __future__ import annotations

import functools

import webob

from virtfleet.api.network.errors import render_error
from virtfleet.api.network.routes import ROUTES
from virtfleet.api.wsgi import Handler, HTTPError, Request, Router, bind
from virtfleet.network.errors import PolicyNotAuthorized
from virtfleet.network.service import NetworkService


def make_network_app(service: NetworkService) -> Router:
    """The Networking API as a WSGI app over ``service``."""
    routes = [r._replace(handler=_policy_is_403(r.handler)) for r in bind(ROUTES, service)]
    return Router(routes, render_error)


def _policy_is_403(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def wrapped(req: Request, **params: str) -> webob.Response:
        try:
            return handler(req, **params)
        except PolicyNotAuthorized as exc:
            raise HTTPError(403, exc.message, exc.code) from exc

    return wrapped
