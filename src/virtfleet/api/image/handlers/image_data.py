"""``/v2/images/{id}/file``: upload (streamed, bounded by the image service's
``[image]`` caps) and download of an image's data."""

from __future__ import annotations

from collections.abc import Iterator

import webob

from virtfleet.api.image import access
from virtfleet.api.wsgi import Request, json_response
from virtfleet.image.service import ImageService

UPLOAD_CHUNK = 64 * 1024


def upload(images: ImageService, req: Request, image_id: str) -> webob.Response:
    """PUT /v2/images/{id}/file: store the body as the image's data (image active)."""
    access.owned(images, req, image_id)
    images.upload(image_id, body_chunks(req), declared_size=req.content_length)
    return json_response(None, status=204)


def download(images: ImageService, req: Request, image_id: str) -> webob.Response:
    """GET /v2/images/{id}/file: the data (204 when there is none), with its MD5. A
    service (an agent booting a server of any project) reads every image."""
    access.readable(images, req, image_id)
    image, data = images.download(image_id)
    if data is None:
        return json_response(None, status=204)
    resp = webob.Response(status=200, content_type="application/octet-stream", charset=None)
    resp.app_iter = data
    resp.content_length = image.size
    if image.checksum:
        resp.headers["Content-MD5"] = image.checksum
    return resp


def body_chunks(req: Request) -> Iterator[bytes]:
    """The request body in chunks (read as the store writes)."""
    stream = req.body_file
    while chunk := stream.read(UPLOAD_CHUNK):
        yield chunk
