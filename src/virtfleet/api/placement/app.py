"""The Placement WSGI application over a :class:`PlacementService`."""

from __future__ import annotations

import functools

from virtfleet.api.placement.errors import render_error
from virtfleet.api.placement.handler import ROUTES
from virtfleet.api.placement.microversion import POLICY
from virtfleet.api.wsgi import Router
from virtfleet.placement.service import PlacementService


def make_app(service: PlacementService) -> Router:
    """The Placement API, to be mounted at ``/placement``. Every request, the version
    document included, negotiates a microversion (406 outside 1.0-1.39)."""
    routes = [(method, path, functools.partial(h, service)) for method, path, h in ROUTES]
    return Router(routes, render_error, versions=POLICY, unversioned=())
