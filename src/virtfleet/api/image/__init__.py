"""The Image API v2 subset, mounted at ``/image``: :func:`make_image_app`."""

from __future__ import annotations

from virtfleet.api.image.app import ImageDeps, make_image_app

__all__ = ["ImageDeps", "make_image_app"]
