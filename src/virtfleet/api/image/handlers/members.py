"""``/v2/images/{id}/members``: sharing an image with other projects (Glance's image
members).

The owner (or an admin) adds and removes members of a ``shared`` image; a member
project accepts or rejects it (``openstack image set --accept``); the owner lists every
member, a member sees only its own entry. An accepted member lists the image, and every
member may show it and boot it.
"""

from __future__ import annotations

from typing import Any

import webob

from virtfleet import errors
from virtfleet.api import caller
from virtfleet.api.image import access
from virtfleet.api.image.views import timestamp
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import image_members
from virtfleet.db.image_members import Member
from virtfleet.image.service import ImageService

MAX_MEMBER_ID = 255


def member_view(member: Member) -> dict[str, Any]:
    return {
        "image_id": member.image_id,
        "member_id": member.member_id,
        "status": member.status,
        "created_at": timestamp(member.created_at),
        "updated_at": timestamp(member.updated_at),
        "schema": "/v2/schemas/member",
    }


def _field(req: Request, name: str) -> str:
    body = req.json_body_or_400()
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_MEMBER_ID:
        raise HTTPError(
            400,
            f'Invalid request body: expected {{"{name}": <string of 1 to '
            f"{MAX_MEMBER_ID} characters>}}.",
        )
    return value.strip()


def _owner_of_shared(images: ImageService, req: Request, image_id: str) -> None:
    """403 unless the caller owns the image and it is ``shared`` (404 if unseen)."""
    image = access.seen(images, req, image_id)
    if not access.viewer(images, req).owns(image):
        raise HTTPError(403, f"You are not permitted to share image {image_id}: not its owner.")
    if image.visibility != "shared":
        raise HTTPError(
            403,
            f"Image {image_id} has visibility {image.visibility}: only shared images have "
            "members (openstack image set --shared).",
        )


def create(images: ImageService, req: Request, image_id: str) -> webob.Response:
    """POST /v2/images/{id}/members: share the image with a project (``pending``)."""
    member_id = _field(req, "member")
    _owner_of_shared(images, req, image_id)
    member = image_members.add(images.db, image_id, member_id)
    return json_response(member_view(member))


def index(images: ImageService, req: Request, image_id: str) -> webob.Response:
    """GET /v2/images/{id}/members: every member (owner), or the caller's own entry."""
    image = access.seen(images, req, image_id)
    if image.visibility != "shared":
        raise HTTPError(
            403,
            f"Image {image_id} has visibility {image.visibility}: only shared images have members.",
        )
    found = image_members.list_members(images.db, image_id)
    if not access.viewer(images, req).owns(image):
        found = [m for m in found if m.member_id == caller.project_id(req)]
    return json_response(
        {"members": [member_view(m) for m in found], "schema": "/v2/schemas/members"}
    )


def show(images: ImageService, req: Request, image_id: str, member_id: str) -> webob.Response:
    """GET /v2/images/{id}/members/{member}: one member (its owner or that project)."""
    image = access.seen(images, req, image_id)
    if not access.viewer(images, req).owns(image) and member_id != caller.project_id(req):
        raise HTTPError(404, f"Member {member_id} of image {image_id} not found.")
    return json_response(member_view(image_members.get(images.db, image_id, member_id)))


def update(images: ImageService, req: Request, image_id: str, member_id: str) -> webob.Response:
    """PUT /v2/images/{id}/members/{member}: the member accepts, rejects or leaves
    pending the image it was given (only the member project itself may)."""
    status = _field(req, "status")
    access.seen(images, req, image_id)
    if member_id != caller.project_id(req):
        raise HTTPError(
            403,
            f"Only project {member_id} itself may accept or reject image {image_id} "
            "(the owner adds and removes members).",
        )
    if status not in image_members.STATUSES:
        raise HTTPError(
            400,
            f"Invalid status {status!r}: expected one of {', '.join(image_members.STATUSES)}.",
        )
    try:
        member = image_members.set_status(images.db, image_id, member_id, status)
    except errors.NotFound as exc:
        raise HTTPError(404, exc.message) from None
    return json_response(member_view(member))


def delete(images: ImageService, req: Request, image_id: str, member_id: str) -> webob.Response:
    """DELETE /v2/images/{id}/members/{member}: stop sharing with the project (owner)."""
    image = access.seen(images, req, image_id)
    if not access.viewer(images, req).owns(image):
        raise HTTPError(403, f"You are not permitted to unshare image {image_id}: not its owner.")
    image_members.remove(images.db, image_id, member_id)
    return json_response(None, status=204)
