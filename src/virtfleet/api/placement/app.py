"""The Placement WSGI application over a :class:`PlacementService`."""

from __future__ import annotations

from virtfleet.api.placement.errors import render_error
from virtfleet.api.placement.microversion import POLICY
from virtfleet.api.placement.routes import ROUTES
from virtfleet.api.wsgi import Router, bind
from virtfleet.placement.service import PlacementService


def make_app(service: PlacementService) -> Router:
    """The Placement API, to be mounted at ``/placement``. Every request, the version
    document included, negotiates a microversion (406 outside 1.0-1.39)."""
    return Router(bind(ROUTES, service), render_error, versions=POLICY, unversioned=())
