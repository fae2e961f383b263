"""Who may see what in the Compute API: the caller (project, user, admin), admin-only
rules, and the servers and images a caller may refer to (404/400 as for a missing one)."""

from __future__ import annotations

from virtfleet import errors
from virtfleet.api import caller
from virtfleet.api.wsgi import HTTPError, Request
from virtfleet.db import image_members, images, servers
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
    project = project_id(req)
    viewer = Viewer(project, is_admin(req), image_members.memberships(db, project))
    if image is None or not viewer.sees(image):
        raise HTTPError(400, f"Image {image_id} could not be found (imageRef).")
    return image
