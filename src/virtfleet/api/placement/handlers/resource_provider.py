"""/resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.placement import errors, inputs, responses, views
from virtfleet.api.placement.microversion import since
from virtfleet.api.placement.schemas import resource_provider as schema
from virtfleet.api.wsgi import HTTPError, Request
from virtfleet.placement import query
from virtfleet.placement.service import PlacementService

# Query schema and repeatable keys of GET /resource_providers, newest first.
_LIST_SCHEMAS: tuple[tuple[str, dict[str, Any], frozenset[str]], ...] = (
    ("1.39", schema.LIST_V1_39, frozenset({"member_of", "required"})),
    ("1.24", schema.LIST_V1_24, frozenset({"member_of"})),
    ("1.18", schema.LIST_V1_18, frozenset()),
    ("1.14", schema.LIST_V1_14, frozenset()),
    ("1.4", schema.LIST_V1_4, frozenset()),
    ("1.3", schema.LIST_V1_3, frozenset()),
    ("1.0", schema.LIST_V1_0, frozenset()),
)


def list_providers(svc: PlacementService, req: Request) -> webob.Response:
    """GET /resource_providers with the filters of the request's version."""
    _, query_schema, repeatable = next(row for row in _LIST_SCHEMAS if since(req, row[0]))
    params = inputs.query(req, query_schema, repeatable)
    version = (req.microversion.major, req.microversion.minor)
    member_of: list[frozenset[str]] = []
    forbidden_aggregates: set[str] = set()
    for value in _values(params, "member_of"):
        any_of, forbidden = query.parse_member_of(value, "member_of", version)
        member_of += [any_of] if any_of is not None else []
        forbidden_aggregates |= forbidden
    required: list[frozenset[str]] = []
    forbidden_traits: set[str] = set()
    for value in _values(params, "required"):
        any_of_sets, forbidden = query.parse_required(value, "required", version)
        required += any_of_sets
        forbidden_traits |= forbidden
    _check_traits(svc, required, forbidden_traits)
    resources = query.parse_resources(params["resources"]) if "resources" in params else None
    if resources:
        _check_resource_classes_exist(svc, set(resources))
    providers = svc.list_providers(
        name=params.get("name"),
        uuid=params.get("uuid"),
        in_tree=params.get("in_tree"),
        member_of=member_of,
        resources=resources,
        required=required,
        forbidden=frozenset(forbidden_traits),
        forbidden_aggregates=frozenset(forbidden_aggregates),
    )
    return responses.respond(
        req, {"resource_providers": [views.provider(req, p) for p in providers]}
    )


def _values(params: dict[str, Any], key: str) -> list[str]:
    value = params.get(key, [])
    return value if isinstance(value, list) else [value]


def _check_traits(
    svc: PlacementService, required: list[frozenset[str]], forbidden: set[str]
) -> None:
    if not required and not forbidden:
        return
    names = forbidden.union(*required)
    missing = names - set(svc.list_traits(name_filter="in:" + ",".join(sorted(names))))
    if missing:
        raise HTTPError(400, f"No such trait(s): {', '.join(sorted(missing))}.")
    conflicts = sorted(name for any_of in required if any_of <= forbidden for name in any_of)
    if conflicts:
        raise HTTPError(
            400,
            f"Conflicting required and forbidden traits found: {', '.join(conflicts)}.",
            code=errors.QUERYPARAM_BAD_VALUE,
        )


def _check_resource_classes_exist(svc: PlacementService, names: set[str]) -> None:
    missing = names - set(svc.list_resource_classes())
    if missing:
        raise HTTPError(
            400,
            f"Invalid resource class in resources parameter: {', '.join(sorted(missing))}.",
            code=errors.QUERYPARAM_BAD_VALUE,
        )


def create_provider(svc: PlacementService, req: Request) -> webob.Response:
    """POST /resource_providers: 201 with a Location; from 1.20 also the body (200)."""
    data = inputs.body(req, schema.POST_V1_14 if since(req, "1.14") else schema.POST_V1_0)
    rp = svc.create_provider(
        data["name"], uuid=data.get("uuid"), parent_uuid=data.get("parent_provider_uuid")
    )
    location = views.provider_url(req, rp.uuid)
    if since(req, "1.20"):
        return responses.respond(req, views.provider(req, rp), location=location)
    return responses.respond(req, None, status=201, location=location)


def show_provider(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """GET /resource_providers/{uuid}."""
    return responses.respond(req, views.provider(req, svc.get_provider(uuid)))


def update_provider(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """PUT /resource_providers/{uuid}: rename; from 1.14 set the parent, from 1.37
    change or remove it."""
    data = inputs.body(req, schema.PUT_V1_14 if since(req, "1.14") else schema.PUT_V1_0)
    current = svc.get_provider(uuid)
    parent = data.get("parent_provider_uuid", current.parent_uuid)
    reparenting = current.parent_uuid is not None and parent != current.parent_uuid
    if reparenting and not since(req, "1.37"):
        raise HTTPError(
            400,
            f"Unable to save resource provider {uuid}: re-parenting a provider is not "
            "allowed before microversion 1.37.",
        )
    rp = svc.update_provider(uuid, data["name"], parent, allow_reparent=since(req, "1.37"))
    return responses.respond(req, views.provider(req, rp))


def delete_provider(svc: PlacementService, req: Request, uuid: str) -> webob.Response:
    """DELETE /resource_providers/{uuid}: 409 while it has allocations or children."""
    svc.delete_provider(uuid)
    return responses.no_content()
