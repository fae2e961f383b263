"""``/v2/images/{id}/tags/{tag}``: add (PUT) and delete (DELETE) one tag, 204 each
(Glance's image tags API; a PATCH of ``/tags`` still sets them all)."""

from __future__ import annotations

import webob

from virtfleet.api.image import access
from virtfleet.api.wsgi import Request, json_response
from virtfleet.image.service import ImageService


def add(images: ImageService, req: Request, image_id: str, tag: str) -> webob.Response:
    """PUT /v2/images/{id}/tags/{tag}: tag the image (again: no change)."""
    access.owned(images, req, image_id)
    images.add_tag(image_id, tag)
    return json_response(None, status=204)


def delete(images: ImageService, req: Request, image_id: str, tag: str) -> webob.Response:
    """DELETE /v2/images/{id}/tags/{tag}: untag the image (404 without that tag)."""
    access.owned(images, req, image_id)
    images.delete_tag(image_id, tag)
    return json_response(None, status=204)
