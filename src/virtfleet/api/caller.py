"""Who is calling: project, user and admin-ness of a request, as the policy sees them.

The application (:func:`virtfleet.api.app.make_app`) puts its
:class:`~virtfleet.api.policy.enforcer.Authorizer` into each request's environment;
handlers ask here. An API app built on its own (a unit test of one API) has none: then
the caller's ``X-Roles`` / ``X-Project-Id`` headers are trusted as in the test mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from virtfleet.api.wsgi import AUTHORIZER_ENVIRON_KEY, HTTPError, Request

if TYPE_CHECKING:
    from virtfleet.api.policy.enforcer import Authorizer

ADMIN_RULE = "context_is_admin"
DEFAULT_PROJECT = "admin"
DEFAULT_USER = "admin"


def authorizer(req: Request) -> Authorizer | None:
    found: Authorizer | None = req.environ.get(AUTHORIZER_ENVIRON_KEY)
    return found


def allowed(req: Request, rule: str, target: Mapping[str, Any] | None = None) -> bool:
    """Whether the caller passes ``rule`` (without an authorizer: whether it is an
    admin by its headers)."""
    found = authorizer(req)
    if found is None:
        return _header_admin(req)
    return found.allowed(req, rule, target)


def authorize(req: Request, rule: str, target: Mapping[str, Any] | None = None) -> None:
    """403 naming ``rule`` unless the caller passes it."""
    if not allowed(req, rule, target):
        raise HTTPError(403, f"Policy doesn't allow {rule} to be performed.")


def is_admin(req: Request) -> bool:
    """Whether the caller passes ``context_is_admin``; asked once per request (a
    server listing asks for each server it shows)."""
    known = req.environ.get(_IS_ADMIN_KEY)
    if known is None:
        known = req.environ[_IS_ADMIN_KEY] = allowed(req, ADMIN_RULE)
    return bool(known)


_IS_ADMIN_KEY = "virtfleet.caller.is_admin"


def project_id(req: Request) -> str:
    found = authorizer(req)
    if found is None:
        return req.headers.get("X-Project-Id") or DEFAULT_PROJECT
    return str(found.context(req).project_id)


def user_id(req: Request) -> str:
    found = authorizer(req)
    if found is None:
        return req.headers.get("X-User-Id") or DEFAULT_USER
    return str(found.context(req).user_id)


def _header_admin(req: Request) -> bool:
    roles = req.headers.get("X-Roles")
    return roles is None or "admin" in {r.strip().lower() for r in roles.split(",")}
