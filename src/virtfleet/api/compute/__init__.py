"""The Compute API v2.1 subset, mounted at ``/compute``: :func:`make_compute_app`."""

from __future__ import annotations

from virtfleet.api.compute.app import make_compute_app
from virtfleet.api.compute.deps import ComputeDeps, ConductorAPI

__all__ = ["ComputeDeps", "ConductorAPI", "make_compute_app"]
