"""The Compute API v2.1 subset, mounted at ``/compute``: :func:`make_compute_app`.

Layout (as the Placement API): ``routes.py`` is the one route table and server action
table, ``versions.py`` the one microversion list, ``handlers/`` one module per
resource, ``schemas/`` the request body schemas per microversion, ``views/`` the
response shapes, ``errors.py`` the error body, ``deps.py`` what the API needs.
"""

from __future__ import annotations

from virtfleet.api.compute.app import make_compute_app
from virtfleet.api.compute.deps import ComputeDeps, ConductorAPI

__all__ = ["ComputeDeps", "ConductorAPI", "make_compute_app"]
