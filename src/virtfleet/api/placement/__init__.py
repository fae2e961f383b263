"""The Placement HTTP API (microversions 1.0-1.39), a thin layer over
:class:`virtfleet.placement.service.PlacementService`.

``make_app(service)`` gives a WSGI app to mount at ``/placement``::

    app = PrefixDispatcher({"placement": make_app(PlacementService(db))}, root=...)

Layout: ``routes.py`` is the one route table, ``microversion.py`` the one version
list, ``schemas/`` the request schemas per version, ``handlers/`` one module per
resource, ``views.py`` the response shapes, ``errors.py`` the error body and codes.
"""

from __future__ import annotations

from virtfleet.api.placement.app import make_app

__all__ = ["make_app"]
