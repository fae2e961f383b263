"""Host aggregates (``/os-aggregates``, admin): create, list, show, update, delete,
and the actions add_host, remove_host and set_metadata. Changes go through
:class:`~virtfleet.scheduler.aggregates.AggregateService`, which keeps placement's
aggregates in step (the availability zone and isolation prefilters read them)."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.schemas import aggregate as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views.timestamps import timestamp
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import aggregates as aggregate_db
from virtfleet.db.aggregates import Aggregate
from virtfleet.scheduler.aggregates import AggregateService


def _service(deps: ComputeDeps) -> AggregateService:
    return AggregateService(deps.db, deps.placement)


def _id(aggregate_id: str) -> int:
    if not aggregate_id.isdigit():
        raise HTTPError(404, f"Aggregate {aggregate_id} could not be found.")
    return int(aggregate_id)


def _view(req: Request, aggregate: Aggregate) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": aggregate.id,
        "name": aggregate.name,
        "availability_zone": aggregate.availability_zone,
        "hosts": list(aggregate.hosts),
        "metadata": dict(aggregate.metadata),
        "created_at": timestamp(aggregate.created_at),
        "updated_at": timestamp(aggregate.updated_at),
        "deleted_at": None,
        "deleted": False,
    }
    if at_least(req, "2.41"):
        shown["uuid"] = aggregate.uuid
    return shown


def _answer(req: Request, aggregate: Aggregate) -> webob.Response:
    return json_response({"aggregate": _view(req, aggregate)})


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /os-aggregates: every aggregate."""
    found = aggregate_db.list_all(deps.db)
    return json_response({"aggregates": [_view(req, a) for a in found]})


def create(deps: ComputeDeps, req: Request) -> webob.Response:
    """POST /os-aggregates: a new aggregate, in an availability zone when given."""
    raw = req.json_body_or_400()
    validate_body(req, raw, schema.CREATE)
    body = raw["aggregate"]
    return _answer(req, _service(deps).create(body["name"].strip(), body.get("availability_zone")))


def show(deps: ComputeDeps, req: Request, aggregate_id: str) -> webob.Response:
    """GET /os-aggregates/{id}."""
    return _answer(req, aggregate_db.get(deps.db, _id(aggregate_id)))


def update(deps: ComputeDeps, req: Request, aggregate_id: str) -> webob.Response:
    """PUT /os-aggregates/{id}: rename and/or move to another availability zone."""
    raw = req.json_body_or_400()
    validate_body(req, raw, schema.UPDATE)
    body = raw["aggregate"]
    name = body.get("name")
    done = _service(deps).update(
        _id(aggregate_id), name.strip() if name else None, body.get("availability_zone")
    )
    return _answer(req, done)


def delete(deps: ComputeDeps, req: Request, aggregate_id: str) -> webob.Response:
    """DELETE /os-aggregates/{id}: only an aggregate without hosts."""
    _service(deps).delete(_id(aggregate_id))
    return json_response(None)


def action(deps: ComputeDeps, req: Request, aggregate_id: str) -> webob.Response:
    """POST /os-aggregates/{id}/action: add_host, remove_host or set_metadata."""
    raw = req.json_body_or_400()
    validate_body(req, raw, schema.ACTION)
    service, number = _service(deps), _id(aggregate_id)
    ((name, argument),) = raw.items()
    if name == "add_host":
        return _answer(req, service.add_host(number, argument["host"]))
    if name == "remove_host":
        return _answer(req, service.remove_host(number, argument["host"]))
    return _answer(req, service.set_metadata(number, argument["metadata"]))
