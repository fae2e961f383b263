"""Which images the caller's project sees and may change (:mod:`virtfleet.image.visibility`
applied to a request): 404 for an image it does not see, 403 for one it sees but does not
own, and the rules that guard making an image public or community."""

from __future__ import annotations

from typing import Any

from virtfleet.api import caller
from virtfleet.api.wsgi import HTTPError, Request
from virtfleet.db import image_members
from virtfleet.db.images import Image
from virtfleet.image.service import ImageService
from virtfleet.image.visibility import Viewer

#: Visibility -> the rule that guards making an image so (Glance's names).
VISIBILITY_RULES = {"public": "publicize_image", "community": "communitize_image"}
SERVICE_RULE = "service_api"


def viewer(images: ImageService, req: Request) -> Viewer:
    """The caller as the visibility rules see it (with the images shared with it)."""
    project = caller.project_id(req)
    shared = image_members.memberships(images.db, project)
    return Viewer(project, caller.is_admin(req), shared)


def seen(images: ImageService, req: Request, image_id: str) -> Image:
    """The image if the caller's project sees it; 404 otherwise (as if missing)."""
    image = images.get(image_id)
    if not viewer(images, req).sees(image):
        raise HTTPError(404, f"No image found with ID {image_id}.")
    return image


def readable(images: ImageService, req: Request, image_id: str) -> Image:
    """The image if the caller sees it or is a service (the ``service`` role: agents
    fetch the data of every project's images); 404 otherwise."""
    if caller.allowed(req, SERVICE_RULE):
        return images.get(image_id)
    return seen(images, req, image_id)


def owned(images: ImageService, req: Request, image_id: str) -> Image:
    """The image if the caller's project owns it (or is admin): 404 when it does not
    see it, 403 when it sees but does not own it."""
    image = seen(images, req, image_id)
    if not viewer(images, req).owns(image):
        raise HTTPError(403, f"You are not permitted to modify image {image_id}.")
    return image


def check_visibility_change(req: Request, visibility: Any) -> None:
    """403 unless the caller may make an image ``visibility`` (public: admins only)."""
    rule = VISIBILITY_RULES.get(visibility) if isinstance(visibility, str) else None
    if rule is not None:
        caller.authorize(req, rule)
