"""``/v2/images``: list (filters, paging), create, show, update (JSON patch), delete."""

from __future__ import annotations

import re
from typing import Any

import webob

from virtfleet.api.image import access
from virtfleet.api.image.schemas import images as schema
from virtfleet.api.image.views import image_view
from virtfleet.api.validation import validate
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.image.service import ImageService

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
IGNORED_PARAMS = ("sort_key", "sort_dir", "sort")
MEMBER_STATUSES = ("accepted", "pending", "rejected", "all")


def index(images: ImageService, req: Request) -> webob.Response:
    """GET /v2/images: images matching the filters, ``limit``/``marker`` paging."""
    params = dict(req.GET)
    limit_text = params.pop("limit", None)
    marker = params.pop("marker", None)
    for ignored in IGNORED_PARAMS:
        params.pop(ignored, None)
    member_status = params.pop("member_status", "accepted")
    if member_status not in MEMBER_STATUSES:
        raise HTTPError(
            400,
            f"Invalid member_status {member_status!r}: expected one of "
            f"{', '.join(MEMBER_STATUSES)}.",
        )
    limit = _limit(limit_text)
    who, requested = access.viewer(images, req), params.get("visibility")
    found = images.list(
        params,
        limit=limit,
        marker=marker,
        visible=lambda i: who.lists(i, requested, member_status),
    )
    body: dict[str, Any] = {
        "images": [image_view(i) for i in found],
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    }
    if limit is not None and len(found) == limit and found:
        body["next"] = f"/v2/images?marker={found[-1].id}&limit={limit}"
    return json_response(body)


def create(images: ImageService, req: Request) -> webob.Response:
    """POST /v2/images: a new image record (queued until its data is uploaded)."""
    if req.content_type and req.content_type != "application/json":
        raise HTTPError(
            415,
            f"Unsupported Content-Type {req.content_type!r}: image create takes application/json.",
        )
    body = req.json_body_or_400()
    validate(body, schema.CREATE_V2)
    access.check_visibility_change(req, body.get("visibility"))
    image = images.create(body, owner=req.headers.get("X-Project-Id"))
    return json_response(
        image_view(image),
        status=201,
        headers={
            "Location": f"{req.host_url}{req.script_name}/v2/images/{image.id}",
            # Glance's header: openstacksdk imports (--import) only with a method listed.
            "OpenStack-image-import-methods": ",".join(images.import_methods),
        },
    )


def show(images: ImageService, req: Request, image_id: str) -> webob.Response:
    """GET /v2/images/{id}: one image."""
    return json_response(image_view(access.seen(images, req, image_id)))


def update(images: ImageService, req: Request, image_id: str) -> webob.Response:
    """PATCH /v2/images/{id}: apply a JSON patch of image attributes and properties."""
    if req.content_type != PATCH_TYPE:
        raise HTTPError(
            415,
            f"Unsupported Content-Type {req.content_type or '(none)'}: "
            f"image updates take {PATCH_TYPE}.",
            headers={"Accept-Patch": PATCH_TYPE},
        )
    patch = req.json_body_or_400()
    validate(patch, schema.UPDATE_V2)
    access.owned(images, req, image_id)
    for operation in patch:
        if isinstance(operation, dict) and operation.get("path") == "/visibility":
            access.check_visibility_change(req, operation.get("value"))
    return json_response(image_view(images.update(image_id, patch)))


def delete(images: ImageService, req: Request, image_id: str) -> webob.Response:
    """DELETE /v2/images/{id}: the image and its data (403 when protected)."""
    access.owned(images, req, image_id)
    images.delete(image_id)
    return json_response(None, status=204)


def _limit(text: str | None) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise HTTPError(400, f"Invalid limit {text!r}: expected an integer >= 0.")
    return int(text)
