"""Helpers shared by the Compute API handlers: links, body access, value checks."""

from __future__ import annotations

import datetime
from typing import Any

from virtfleet import errors
from virtfleet.api import caller
from virtfleet.api.wsgi import HTTPError, Request
from virtfleet.db import images, servers
from virtfleet.db.engine import Database
from virtfleet.db.images import Image
from virtfleet.db.servers import Server
from virtfleet.image.visibility import Viewer

# Who calls (project, user, admin) is the policy's business: virtfleet.api.caller.
is_admin = caller.is_admin
project_id = caller.project_id
user_id = caller.user_id


def require_admin(req: Request, rule: str) -> None:
    """403 unless the caller passes ``rule`` (an admin-only rule by default)."""
    caller.authorize(req, rule)


def visible_server(req: Request, db: Database, server_id: str) -> Server:
    """The server, if the caller may see it: administrators see every project's
    servers, others only their own project's (404 otherwise, as for a missing one)."""
    server = servers.get(db, server_id)
    if not is_admin(req) and server.project_id != project_id(req):
        raise HTTPError(404, f"Instance {server_id} could not be found.")
    return server


def visible_image(req: Request, db: Database, image_id: str) -> Image:
    """The image a boot refers to, if the caller's project may use it (400 naming
    ``imageRef`` otherwise, as for a missing one)."""
    try:
        image = images.get(db, image_id)
    except errors.NotFound:
        image = None
    viewer = Viewer(project_id(req), is_admin(req))
    if image is None or not viewer.sees(image):
        raise HTTPError(400, f"Image {image_id} could not be found (imageRef).")
    return image


def links(req: Request, collection: str, item_id: str) -> list[dict[str, str]]:
    """``self`` (versioned) and ``bookmark`` (unversioned) links of one item."""
    base = f"{req.host_url}{req.script_name}"
    return [
        {"rel": "self", "href": f"{base}/v2.1/{collection}/{item_id}"},
        {"rel": "bookmark", "href": f"{base}/{collection}/{item_id}"},
    ]


def timestamp(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


#: Upper bound of an integer field without one of its own (a signed 64-bit column).
INT64_MAX = 2**63 - 1
#: Nova's bound for flavor sizes (ram, vcpus, disk, ephemeral, swap).
MAX_INT = 2**31 - 1


def integer(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """An integer (or decimal string) in range; 400 naming the field otherwise.
    Without ``maximum`` the bound is :data:`INT64_MAX` (what the database holds)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise HTTPError(
            400, f"Invalid input for field/attribute {name}. Value: {value!r}. Expected an integer."
        )
    try:
        number = int(value)
    except ValueError:
        raise HTTPError(
            400, f"Invalid input for field/attribute {name}. Value: {value!r}. Expected an integer."
        ) from None
    if number < minimum or number > (INT64_MAX if maximum is None else maximum):
        bound = f"in {minimum}..{INT64_MAX if maximum is None else maximum}"
        raise HTTPError(
            400,
            f"Invalid input for field/attribute {name}. Value: {value!r}. "
            f"Expected an integer {bound}.",
        )
    return number


def string(name: str, value: Any, max_length: int = 255, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise HTTPError(
            400,
            f"Invalid input for field/attribute {name}. Value: {value!r}. "
            "Expected a non-empty string.",
        )
    if len(value) > max_length:
        raise HTTPError(
            400, f"Invalid input for field/attribute {name}: longer than {max_length} characters."
        )
    return value


def boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise HTTPError(
        400, f"Invalid input for field/attribute {name}. Value: {value!r}. Expected a boolean."
    )


def ref_id(value: str) -> str:
    """The id at the end of a reference that may be a URL (flavorRef, imageRef)."""
    return value.rstrip("/").rsplit("/", 1)[-1]
