"""The Image API as a WSGI app (mounted at ``/image``): the route table of
``routes.py`` bound to the image service."""

from __future__ import annotations

import functools
from typing import Protocol

import webob

from virtfleet.api.image.errors import render_error
from virtfleet.api.image.routes import ROUTES, STREAMING
from virtfleet.api.wsgi import Handler, HTTPError, Request, Router, bind
from virtfleet.image.service import Forbidden, ImageService


class ImageDeps(Protocol):
    """What the Image API needs (``ComputeDeps`` has it too)."""

    @property
    def images(self) -> ImageService: ...


def make_image_app(deps: ImageDeps) -> Router:
    """The Image API as a WSGI app."""
    routes = [r._replace(handler=_forbidden_is_403(r.handler)) for r in bind(ROUTES, deps.images)]
    # The image service bounds uploads itself ([image] options).
    return Router(routes, render_error, streaming=STREAMING)


def _forbidden_is_403(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def wrapped(req: Request, **params: str) -> webob.Response:
        try:
            return handler(req, **params)
        except Forbidden as exc:
            raise HTTPError(403, exc.message) from exc

    return wrapped
