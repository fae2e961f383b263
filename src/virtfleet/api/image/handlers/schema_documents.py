"""``/v2/schemas/image`` and ``/v2/schemas/images``: the JSON schemas clients fetch to
learn the image document (e.g. which attributes are read-only)."""

from __future__ import annotations

import webob

from virtfleet.api.image.views import image_schema, images_schema
from virtfleet.api.wsgi import Request, json_response
from virtfleet.image.service import ImageService


def image(images: ImageService, req: Request) -> webob.Response:
    """GET /v2/schemas/image: the schema of one image."""
    return json_response(image_schema())


def image_list(images: ImageService, req: Request) -> webob.Response:
    """GET /v2/schemas/images: the schema of an image list."""
    return json_response(images_schema())
