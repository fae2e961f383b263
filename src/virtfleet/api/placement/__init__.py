"""The Placement HTTP API (microversions 1.0-1.39), a thin layer over
:class:`virtfleet.placement.service.PlacementService`."""

from __future__ import annotations

from virtfleet.api.placement.app import make_app

__all__ = ["make_app"]
