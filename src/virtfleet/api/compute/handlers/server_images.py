"""``createImage``: a snapshot of the server's root disk as a new image in the Image
API (queued until the agent's copy is uploaded, then active and bootable). The image
inherits the server's image properties (architecture, kernel, ...) as Nova's
snapshots do, and says where it came from (``image_type=snapshot``,
``instance_uuid``, ``base_image_ref``)."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet import errors
from virtfleet.api.compute import access
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.handlers.server_state_actions import check_lock, record
from virtfleet.api.compute.schemas import server_action as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import servers
from virtfleet.image.service import ATTRIBUTES
from virtfleet.servers import actions, service

#: Image properties a snapshot does not inherit (they describe the old image's data
#: or its place, not the guest).
NOT_INHERITED = frozenset(
    {"image_type", "instance_uuid", "base_image_ref", "image_location", "owner_id", "user_id"}
)


def create_image(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``createImage`` ``{"name": ..., "metadata": {...}}``: 202 with the image's id
    (2.45: in the body; before: the ``Location`` header)."""
    validate_body(req, argument, schema.CREATE_IMAGE)
    server = access.visible_server(req, deps.db, server_id)
    service.check(server, "snapshot")
    check_lock(req, server)
    image_id = queue_snapshot_image(
        deps, req, server, argument["name"], dict(argument.get("metadata") or {}), "snapshot",
        "Invalid image metadata",
    )  # fmt: skip
    record(deps, req, server_id, actions.CREATE_IMAGE)
    deps.conductor.snapshot_server(server_id, image_id)
    if at_least(req, "2.45"):
        return json_response({"image_id": image_id}, status=202)
    location = f"{req.host_url}/image/v2/images/{image_id}"
    return json_response(None, status=202, headers={"Location": location})


def queue_snapshot_image(
    deps: ComputeDeps,
    req: Request,
    server: servers.Server,
    name: str,
    metadata: dict[str, Any],
    task: str,
    refusal: str,
) -> str:
    """Queue the snapshot image ``name`` of ``server`` in the Image API (inheriting its
    image's properties, then ``metadata``) and begin the server's ``task``; the image's
    id. Bad metadata is a 400 starting with ``refusal``; a server that cannot take the
    task gets its image deleted again."""
    attributes = sorted(ATTRIBUTES & metadata.keys())
    if attributes:
        raise HTTPError(
            400, f"{refusal}: {', '.join(attributes)} is an image attribute, not a property."
        )
    inherited = {
        key: value
        for key, value in dict(server.image.get("properties") or {}).items()
        if key not in NOT_INHERITED and isinstance(value, str)
    }
    body: dict[str, Any] = {
        **inherited,
        **metadata,
        "name": name,
        "disk_format": "qcow2",
        "container_format": "bare",
        "visibility": "private",
        "min_disk": int(server.flavor.get("root_gb", 0) or 0),
        "min_ram": int(server.image.get("min_ram", 0) or 0),
        "image_type": "snapshot",
        "instance_uuid": server.uuid,
        "base_image_ref": server.image_ref,
        "user_id": access.user_id(req),
    }
    try:
        image = deps.images.create(body, owner=server.project_id)
    except errors.InvalidInput as exc:
        raise HTTPError(400, f"{refusal}: {exc.message}") from None
    try:
        service.request(deps.db, server.uuid, task, owner=deps.owner)
    except service.InvalidServerState:
        deps.images.delete(image.id)
        raise
    return image.id
