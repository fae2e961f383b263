"""Helpers shared by the Networking API handlers: the caller, the request's resource
body, list filters and field selection as Neutron applies them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import webob

from virtfleet.api import caller as calling
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.network.records import Caller


def caller(req: Request) -> Caller:
    """The caller's project and admin-ness, as the policy sees them."""
    return Caller(project_id=calling.project_id(req), is_admin=calling.is_admin(req))


def resource_body(req: Request, resource: str) -> dict[str, Any]:
    """The ``{"<resource>": {...}}`` object of the request body (400 otherwise)."""
    body = req.json_body_or_400()
    if not isinstance(body, dict) or not isinstance(body.get(resource), dict):
        raise HTTPError(
            400, f'Resource body required: expected {{"{resource}": {{...}}}}.', "BadRequest"
        )
    inner: dict[str, Any] = body[resource]
    return inner


# Query parameters that are not filters.
NOT_FILTERS = ("fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse")


def listing(req: Request, collection: str, items: Sequence[Mapping[str, Any]]) -> webob.Response:
    """``{"<collection>": [...]}`` with Neutron's equality filters (a key given several
    times matches any of its values) and ``fields`` selection applied."""
    wanted: dict[str, list[str]] = {}
    for key, value in req.GET.items():
        if key not in NOT_FILTERS:
            wanted.setdefault(key, []).append(value)
    kept = [item for item in items if all(_matches(item, k, v) for k, v in wanted.items())]
    fields = req.GET.getall("fields")
    if fields:
        kept = [{k: v for k, v in item.items() if k in fields} for item in kept]
    return json_response({collection: kept})


def one(req: Request, resource: str, item: Mapping[str, Any], status: int = 200) -> webob.Response:
    fields = req.GET.getall("fields")
    shown = {k: v for k, v in item.items() if not fields or k in fields}
    return json_response({resource: shown}, status=status)


def _matches(item: Mapping[str, Any], key: str, values: list[str]) -> bool:
    if key not in item:
        return True  # Neutron ignores filters on unknown attributes
    actual = item[key]
    if isinstance(actual, bool):
        return str(actual).lower() in {v.lower() for v in values}
    if isinstance(actual, list):
        return any(str(a) in values for a in actual)
    return ("" if actual is None else str(actual)) in values
