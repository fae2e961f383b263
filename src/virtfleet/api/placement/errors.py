"""Placement error codes and the error body.

The codes (defined once in :mod:`virtfleet.placement.exceptions`, which raises them)
are published API: once a code is used it never changes (tests pin them).
Bodies follow Placement's format::

    {"errors": [{"status": 404, "title": "Not Found", "detail": "...",
                 "code": "placement.undefined_code", "request_id": "req-..."}]}

``code`` is present from microversion 1.23. A 406 for an unacceptable microversion
also carries ``min_version`` and ``max_version`` (osc-placement negotiates with them);
a 406 for an ``Accept`` header without JSON does not.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import webob

from virtfleet import errors as vf_errors
from virtfleet.api.placement.microversion import POLICY, at_least
from virtfleet.api.wsgi import HTTPError, Microversion, Request, json_response
from virtfleet.placement.exceptions import (
    CONCURRENT_UPDATE,
    DEFAULT,
    DUPLICATE_NAME,
    ILLEGAL_DUPLICATE_QUERYPARAM,
    INVENTORY_INUSE,
    PROVIDER_CANNOT_DELETE_PARENT,
    PROVIDER_IN_USE,
    QUERYPARAM_BAD_VALUE,
    QUERYPARAM_MISSING_VALUE,
    RESOURCE_PROVIDER_NOT_FOUND,
)

CODES: frozenset[str] = frozenset(
    {
        DEFAULT,
        INVENTORY_INUSE,
        CONCURRENT_UPDATE,
        DUPLICATE_NAME,
        PROVIDER_IN_USE,
        PROVIDER_CANNOT_DELETE_PARENT,
        RESOURCE_PROVIDER_NOT_FOUND,
        ILLEGAL_DUPLICATE_QUERYPARAM,
        QUERYPARAM_BAD_VALUE,
        QUERYPARAM_MISSING_VALUE,
    }
)


def render_error(req: Request, error: HTTPError) -> webob.Response:
    """The Placement error body for ``error``."""
    entry: dict[str, Any] = {
        "status": error.status,
        "title": _title(error.status),
        "detail": error.message,
        "request_id": req.request_id,
    }
    if at_least(_version_of(req), "1.23"):
        entry["code"] = code_of(error)
    if error.code == "unacceptable_microversion":  # not a 406 for an Accept header
        entry["min_version"] = str(POLICY.minimum)
        entry["max_version"] = str(POLICY.maximum)
    return json_response({"errors": [entry]}, status=error.status)


def code_of(error: HTTPError) -> str:
    """The stable code for ``error``: its own, else derived from its cause."""
    if error.code in CODES:
        return error.code
    if isinstance(error.__cause__, vf_errors.ConcurrentUpdate):
        return CONCURRENT_UPDATE
    return DEFAULT


def _version_of(req: Request) -> Microversion:
    """The negotiated version, or what the client asked for (errors before routing)."""
    negotiated = req.environ.get("virtfleet.microversion")
    if isinstance(negotiated, Microversion):
        return negotiated
    try:
        return POLICY.negotiate(req.headers)
    except HTTPError:
        return POLICY.minimum


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


__all__ = [
    "CODES",
    "CONCURRENT_UPDATE",
    "DEFAULT",
    "DUPLICATE_NAME",
    "ILLEGAL_DUPLICATE_QUERYPARAM",
    "INVENTORY_INUSE",
    "PROVIDER_CANNOT_DELETE_PARENT",
    "PROVIDER_IN_USE",
    "QUERYPARAM_BAD_VALUE",
    "QUERYPARAM_MISSING_VALUE",
    "RESOURCE_PROVIDER_NOT_FOUND",
    "code_of",
    "render_error",
]
