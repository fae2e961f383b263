"""The Image API v2 subset, mounted at ``/image``: :func:`make_image_app`.

Layout (as the Placement and Compute APIs): ``routes.py`` is the one route table,
``versions.py`` the one version list, ``handlers/`` one module per resource,
``schemas/`` the request body schemas, ``views.py`` the response shapes, ``errors.py``
the error body.
"""

from __future__ import annotations

from virtfleet.api.image.app import ImageDeps, make_image_app

__all__ = ["ImageDeps", "make_image_app"]
