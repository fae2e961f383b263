"""Key pairs (``/os-keypairs``): create (imported or generated), list, show, delete.

Key pairs belong to a user. From 2.10 an admin names another user with ``user_id``
(in the body of a create, the query of the others); the route's rule is checked again
against that user. Generated keys (no ``public_key``) end with 2.92, where names may
also hold '@' and '.'. One more key pair than the user's quota allows
(``server_key_pairs``, Keystone's registered limit) is refused with Nova's 403.
"""

from __future__ import annotations

import re
from typing import Any

import webob

from virtfleet import errors
from virtfleet.api import caller
from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import keypair as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views.timestamps import timestamp
from virtfleet.api.wsgi import POLICY_ENVIRON_KEY, HTTPError, Request, json_response
from virtfleet.db import keypairs
from virtfleet.db.keypairs import KeyPair
from virtfleet.servers import keys

NAME = re.compile(r"[A-Za-z0-9 _-]+\Z")
NAME_2_92 = re.compile(r"[A-Za-z0-9 _.@-]+\Z")


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-keypairs: the user's key pairs (paged by name from 2.35)."""
    owner = _owner(req, req.GET.get("user_id"))
    found = keypairs.list_for(deps.db, owner)
    body: dict[str, Any] = {}
    if at_least(req, "2.35"):
        found = _page(req, found)
    body["keypairs"] = [{"keypair": _summary(req, k)} for k in found]
    full_page = "limit" in req.GET and found and len(found) == int(req.GET["limit"])
    if at_least(req, "2.35") and full_page:
        href = f"{req.host_url}{req.script_name}{req.path_info}?limit={req.GET['limit']}"
        body["keypairs_links"] = [{"rel": "next", "href": f"{href}&marker={found[-1].name}"}]
    return json_response(body)


def show(deps: ComputeDeps, req: Request, keypair_name: str) -> webob.Response:
    """GET /os-keypairs/{name}: one key pair in full."""
    owner = _owner(req, req.GET.get("user_id"))
    found = _get(deps, owner, keypair_name)
    shown = {
        **_summary(req, found),
        "user_id": found.user_id,
        "id": found.id,
        "created_at": timestamp(found.created_at),
        "updated_at": None,
        "deleted": False,
        "deleted_at": None,
    }
    return json_response({"keypair": shown})


def create(deps: ComputeDeps, req: Request) -> webob.Response:
    """POST /os-keypairs: import ``public_key``, or generate a key pair (before 2.92)
    and return its private key once."""
    raw = req.json_body_or_400()
    validate_body(req, raw, schema.CREATE)
    body: dict[str, Any] = raw["keypair"]
    owner = _owner(req, body.get("user_id"))
    name = _name(req, body["name"])
    key_type = body.get("type", "ssh")
    private_key = None
    try:
        if body.get("public_key") is None:
            generated = keys.generate(key_type, owner)
            public, private_key = generated.public, generated.private_key
        else:
            public = keys.check(key_type, body["public_key"])
    except errors.InvalidInput as exc:
        raise HTTPError(400, exc.message) from None
    stored = keypairs.create(
        deps.db,
        user_id=owner,
        name=name,
        key_type=public.type,
        public_key=public.public_key,
        fingerprint=public.fingerprint,
        admit=deps.quota.key_pair_check(owner) if deps.quota else None,
    )
    created = {**_summary(req, stored), "user_id": stored.user_id}
    if private_key is not None:
        created["private_key"] = private_key
    return json_response({"keypair": created}, status=201 if at_least(req, "2.2") else 200)


def delete(deps: ComputeDeps, req: Request, keypair_name: str) -> webob.Response:
    """DELETE /os-keypairs/{name}."""
    owner = _owner(req, req.GET.get("user_id"))
    try:
        keypairs.delete(deps.db, owner, keypair_name)
    except errors.NotFound as exc:
        raise HTTPError(404, exc.message) from None
    return json_response(None, status=204 if at_least(req, "2.2") else 202)


def _owner(req: Request, wanted: str | None) -> str:
    """The user whose key pairs the request is about: the caller, or from 2.10 the
    ``user_id`` asked for, if the route's rule allows it for that user."""
    own = access.user_id(req)
    if wanted is None or wanted == own:
        return own
    if not at_least(req, "2.10"):
        raise HTTPError(400, "user_id needs microversion 2.10 or later.")
    rule = str(req.environ.get(POLICY_ENVIRON_KEY, "os_compute_api:os-keypairs:index"))
    caller.authorize(req, rule, {"user_id": wanted, "project_id": access.project_id(req)})
    return wanted


def _name(req: Request, name: str) -> str:
    pattern, allowed = (
        (NAME_2_92, "letters, digits, spaces, '_', '-', '.' and '@'")
        if at_least(req, "2.92")
        else (NAME, "letters, digits, spaces, '_' and '-'")
    )
    if not pattern.match(name) or name != name.strip():
        raise HTTPError(
            400,
            f"Keypair data is invalid: keypair name {name!r} may hold only {allowed}, "
            "without leading or trailing spaces.",
        )
    return name


def _get(deps: ComputeDeps, owner: str, name: str) -> KeyPair:
    try:
        return keypairs.get(deps.db, owner, name)
    except errors.NotFound as exc:
        raise HTTPError(404, exc.message) from None


def _summary(req: Request, keypair: KeyPair) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "name": keypair.name,
        "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint,
    }
    if at_least(req, "2.2"):
        shown["type"] = keypair.type
    return shown


def _page(req: Request, found: list[KeyPair]) -> list[KeyPair]:
    marker = req.GET.get("marker")
    if marker is not None:
        names = [k.name for k in found]
        if marker not in names:
            raise HTTPError(400, f"marker [{marker}] not found")
        found = found[names.index(marker) + 1 :]
    if "limit" in req.GET:
        found = found[: field_checks.integer("limit", req.GET["limit"], 0)]
    return found
