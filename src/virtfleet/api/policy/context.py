"""The request context the policy checks: who calls, with which roles, in which project.

With Keystone the headers come from the token (auth_token replaced whatever the caller
sent). In the unauthenticated test mode the caller's headers are trusted and a caller
without ``X-Roles`` is an administrator of project ``admin``.
"""

from __future__ import annotations

from typing import Any

from oslo_context import context

from virtfleet.api.wsgi import Request

NOAUTH_PROJECT = "admin"
NOAUTH_USER = "admin"
ENVIRON_KEY = "virtfleet.context"


def request_context(req: Request, noauth: bool) -> context.RequestContext:
    """The context of ``req`` (made once per request, kept in its environment)."""
    found = req.environ.get(ENVIRON_KEY)
    if isinstance(found, context.RequestContext):
        return found
    made = _noauth_context(req) if noauth else context.RequestContext.from_environ(req.environ)
    req.environ[ENVIRON_KEY] = made
    return made


#: Keystone's bootstrap makes admin imply member and member imply reader; a token
#: carries the implied roles, so the test mode adds them too.
IMPLIED_ROLES = {"admin": ("member", "reader"), "member": ("reader",)}


def _noauth_context(req: Request) -> context.RequestContext:
    headers = req.headers
    roles_header = headers.get("X-Roles")
    named = (
        ["admin"]
        if roles_header is None
        else [r.strip().lower() for r in roles_header.split(",") if r.strip()]
    )
    roles = sorted({*named, *(i for r in named for i in IMPLIED_ROLES.get(r, ()))})
    return context.RequestContext(
        user_id=headers.get("X-User-Id") or NOAUTH_USER,
        project_id=headers.get("X-Project-Id") or NOAUTH_PROJECT,
        roles=roles,
    )


def credentials(ctx: context.RequestContext) -> dict[str, Any]:
    """What the rules' ``role:``, ``project_id:`` and ``user_id:`` checks read."""
    return dict(ctx.to_policy_values())
