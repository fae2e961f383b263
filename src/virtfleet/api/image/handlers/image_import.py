"""The interoperable import workflow: ``PUT /v2/images/{id}/stage`` (the data, checked
and kept; the image becomes ``uploading``) then ``POST /v2/images/{id}/import`` with
method ``glance-direct`` (the image becomes ``active``), or ``web-download`` of a URL
on the operator's allow list. Errors are Glance's: 400 for a body it cannot use or a
method not enabled, 409 for an image in the wrong state, 400 for a URL the filter
refuses."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.image import access
from virtfleet.api.image.handlers.image_data import body_chunks
from virtfleet.api.image.handlers.info import STORE_ID
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.image.service import WEB_DOWNLOAD, ImageService


def stage(images: ImageService, req: Request, image_id: str) -> webob.Response:
    """PUT /v2/images/{id}/stage: the image's data, staged for import."""
    access.owned(images, req, image_id)
    images.stage(image_id, body_chunks(req), declared_size=req.content_length)
    return json_response(None, status=204)


def import_image(images: ImageService, req: Request, image_id: str) -> webob.Response:
    """POST /v2/images/{id}/import: glance-direct of the staged data or web-download."""
    body = req.json_body_or_400()
    method = _method(body, images.import_methods)
    access.owned(images, req, image_id)
    if method["name"] == WEB_DOWNLOAD:
        images.web_download(image_id, method.get("uri"))
    else:
        images.finish_import(image_id)
    return json_response(None, status=202)


def _method(body: Any, enabled: tuple[str, ...]) -> dict[str, Any]:
    """The body's ``method``, checked as Glance checks an import request."""
    if not isinstance(body, dict):
        raise HTTPError(400, "Import request body must be a JSON object.")
    method = body.get("method")
    if not isinstance(method, dict):
        raise HTTPError(400, "Import request requires a 'method' field.")
    if "name" not in method:
        raise HTTPError(400, "Import request requires a 'name' field.")
    if method["name"] not in enabled:
        raise HTTPError(
            400,
            f"Unknown import method name '{method['name']}'. "
            f"Enabled here: {', '.join(enabled)} (GET /v2/info/import).",
        )
    for flag in ("all_stores", "all_stores_must_succeed"):
        if flag in body and not isinstance(body[flag], bool):
            raise HTTPError(400, f"'{flag}' must be boolean value only")
    stores = body.get("stores", [])
    if not isinstance(stores, list) or any(s != STORE_ID for s in stores):
        raise HTTPError(
            409, f"Unknown store in stores {stores!r}: this site has one store, {STORE_ID!r}."
        )
    return method
