"""What a server's owner changes without touching the guest: ``PUT /servers/{id}``
(name, 2.19 description), metadata (``/servers/{id}/metadata``) and tags (2.26,
``/servers/{id}/tags``). A locked server refuses non-administrators (409), as do
servers in states Nova refuses (e.g. while deleting)."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.boot_access import checked_hostname
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.handlers.server_addresses import addresses
from virtfleet.api.compute.handlers.server_state_actions import check_lock
from virtfleet.api.compute.schemas import server_update as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views import links
from virtfleet.api.compute.views.servers import detail_view
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import servers
from virtfleet.db.servers import Server
from virtfleet.servers import service

MAX_METADATA_ITEMS = 128
MAX_TAGS = 50


def _changeable(deps: ComputeDeps, req: Request, server_id: str, transition: str) -> Server:
    server = access.visible_server(req, deps.db, server_id)
    service.check(server, transition)
    check_lock(req, server)
    return server


def update(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """PUT /servers/{id}: rename the server, (2.19) change its description, (2.90)
    its hostname."""
    body = req.json_body_or_400()
    validate_body(req, body, schema.UPDATE)
    changes: dict[str, Any] = body["server"]
    _changeable(deps, req, server_id, "update")
    fields: dict[str, Any] = {}
    if "name" in changes:
        fields["name"] = changes["name"]
    if "description" in changes:
        fields["description"] = changes["description"]
    if "hostname" in changes:
        fields["hostname"] = checked_hostname(req, changes["hostname"])
    server = servers.update(deps.db, server_id, **fields)
    # 2.71 adds the server's groups to the answer, 2.75 makes it the whole show body
    shown = detail_view(
        req,
        server,
        show=at_least(req, "2.71"),
        addresses=addresses(deps, server) if at_least(req, "2.75") else None,
    )
    return json_response({"server": shown})


# ------------------------------------------------------------------ metadata


def _checked(metadata: dict[str, str]) -> dict[str, str]:
    if len(metadata) > MAX_METADATA_ITEMS:
        raise HTTPError(
            403, f"Quota exceeded for metadata items: at most {MAX_METADATA_ITEMS} are allowed."
        )
    for key in metadata:
        field_checks.string(f"metadata key {key!r}", key)
    return metadata


def metadata_index(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """GET /servers/{id}/metadata."""
    server = access.visible_server(req, deps.db, server_id)
    return json_response({"metadata": dict(server.metadata)})


def metadata_merge(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """POST /servers/{id}/metadata: add or change the items given, keep the others."""
    body = req.json_body_or_400()
    validate_body(req, body, schema.METADATA)
    server = _changeable(deps, req, server_id, "metadata")
    merged = _checked({**server.metadata, **body["metadata"]})
    servers.update(deps.db, server_id, metadata=merged)
    return json_response({"metadata": merged})


def metadata_replace(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """PUT /servers/{id}/metadata: the items given replace all of them."""
    body = req.json_body_or_400()
    validate_body(req, body, schema.METADATA)
    _changeable(deps, req, server_id, "metadata")
    replaced = _checked(dict(body["metadata"]))
    servers.update(deps.db, server_id, metadata=replaced)
    return json_response({"metadata": replaced})


def metadata_show(deps: ComputeDeps, req: Request, server_id: str, key: str) -> webob.Response:
    """GET /servers/{id}/metadata/{key}."""
    server = access.visible_server(req, deps.db, server_id)
    if key not in server.metadata:
        raise HTTPError(404, "Metadata item was not found")
    return json_response({"meta": {key: server.metadata[key]}})


def metadata_set(deps: ComputeDeps, req: Request, server_id: str, key: str) -> webob.Response:
    """PUT /servers/{id}/metadata/{key} ``{"meta": {key: value}}``: one item."""
    body = req.json_body_or_400()
    validate_body(req, body, schema.META_ITEM)
    meta: dict[str, str] = body["meta"]
    if len(meta) > 1:
        raise HTTPError(400, "Request body contains too many items")
    if key not in meta:
        raise HTTPError(400, "Request body and URI mismatch")
    server = _changeable(deps, req, server_id, "metadata")
    servers.update(deps.db, server_id, metadata=_checked({**server.metadata, **meta}))
    return json_response({"meta": meta})


def metadata_delete(deps: ComputeDeps, req: Request, server_id: str, key: str) -> webob.Response:
    """DELETE /servers/{id}/metadata/{key}."""
    server = _changeable(deps, req, server_id, "metadata")
    if key not in server.metadata:
        raise HTTPError(404, "Metadata item was not found")
    servers.update(
        deps.db, server_id, metadata={k: v for k, v in server.metadata.items() if k != key}
    )
    return json_response(None, status=204)


# ---------------------------------------------------------------------- tags


def _tags_need_2_26(req: Request) -> None:
    if not at_least(req, "2.26"):
        raise HTTPError(404, "Server tags need microversion 2.26 or later.")


def tags_index(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """GET /servers/{id}/tags (2.26)."""
    _tags_need_2_26(req)
    server = access.visible_server(req, deps.db, server_id)
    return json_response({"tags": list(server.tags)})


def tags_replace(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """PUT /servers/{id}/tags (2.26): the tags given replace all of them."""
    _tags_need_2_26(req)
    body = req.json_body_or_400()
    validate_body(req, body, schema.TAGS)
    _changeable(deps, req, server_id, "tags")
    tags = tuple(dict.fromkeys(body["tags"]))
    servers.update(deps.db, server_id, tags=tags)
    return json_response({"tags": list(tags)})


def tags_clear(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """DELETE /servers/{id}/tags (2.26)."""
    _tags_need_2_26(req)
    _changeable(deps, req, server_id, "tags")
    servers.update(deps.db, server_id, tags=())
    return json_response(None, status=204)


def tag_check(deps: ComputeDeps, req: Request, server_id: str, tag: str) -> webob.Response:
    """GET /servers/{id}/tags/{tag} (2.26): 204 when the server has it, else 404."""
    _tags_need_2_26(req)
    server = access.visible_server(req, deps.db, server_id)
    if tag not in server.tags:
        raise HTTPError(404, f"Tag {tag!r} could not be found on server {server_id}.")
    return json_response(None, status=204)


def tag_add(deps: ComputeDeps, req: Request, server_id: str, tag: str) -> webob.Response:
    """PUT /servers/{id}/tags/{tag} (2.26): 201 with its Location when new, 204 when
    the server already has it."""
    _tags_need_2_26(req)
    if not tag or len(tag) > 60 or "," in tag or "/" in tag:
        raise HTTPError(400, schema.TAG_MESSAGE)
    server = _changeable(deps, req, server_id, "tags")
    if tag in server.tags:
        return json_response(None, status=204)
    if len(server.tags) >= MAX_TAGS:
        raise HTTPError(400, f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    servers.update(deps.db, server_id, tags=(*server.tags, tag))
    location = f"{links.links(req, 'servers', server_id)[0]['href']}/tags/{tag}"
    return json_response(None, status=201, headers={"Location": location})


def tag_delete(deps: ComputeDeps, req: Request, server_id: str, tag: str) -> webob.Response:
    """DELETE /servers/{id}/tags/{tag} (2.26)."""
    _tags_need_2_26(req)
    server = _changeable(deps, req, server_id, "tags")
    if tag not in server.tags:
        raise HTTPError(404, f"Tag {tag!r} could not be found on server {server_id}.")
    servers.update(deps.db, server_id, tags=tuple(t for t in server.tags if t != tag))
    return json_response(None, status=204)
