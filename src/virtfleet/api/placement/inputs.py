"""Placement request input: the JSON body and the query parameters, validated against
their JSON schemas (a 400 naming the problem; a repeated single-valued parameter is
its own 400)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

from virtfleet.api.placement import errors
from virtfleet.api.wsgi import HTTPError, Request

Schema = Mapping[str, Any]


def body(req: Request, schema: Schema) -> Any:
    """The JSON body, validated against ``schema`` (400 naming the problem)."""
    if req.content_type != "application/json":  # a missing type too, as upstream
        raise HTTPError(
            415,
            f"The media type {req.content_type or None} is not supported, use application/json.",
        )
    data = req.json_body_or_400()
    _validate(data, schema, "JSON does not validate")
    return data


def query(req: Request, schema: Schema, repeatable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Query parameters validated against ``schema``: one string per key, a list of
    strings for the ``repeatable`` keys; any other repeated key is a 400."""
    params: dict[str, Any] = {}
    for key in dict.fromkeys(req.GET.keys()):
        values = list(req.GET.getall(key))
        if key in repeatable:
            params[key] = values
            continue
        if len(values) > 1:
            raise HTTPError(
                400,
                f"Query parameter {key!r} may only appear once.",
                code=errors.ILLEGAL_DUPLICATE_QUERYPARAM,
            )
        params[key] = values[0]
    validate_query(params, schema)
    return params


def validate_query(params: Mapping[str, Any], schema: Schema) -> None:
    """400 when query parameters do not match ``schema``."""
    _validate(params, schema, "Invalid query string parameters")


def query_lists(req: Request) -> dict[str, list[str]]:
    """Every query parameter with all its values (for repeatable parameters)."""
    return {key: list(req.GET.getall(key)) for key in dict.fromkeys(req.GET.keys())}


_VALIDATORS: dict[int, Any] = {}


def _validator(schema: Schema) -> Any:
    """One validator per schema object (schemas are module-level constants)."""
    found = _VALIDATORS.get(id(schema))
    if found is None or found.schema is not schema:
        found = jsonschema.Draft4Validator(schema)
        _VALIDATORS[id(schema)] = found
    return found


def _validate(data: Any, schema: Schema, prefix: str) -> None:
    validator = _validator(schema)
    problem = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if problem is not None:
        where = "/".join(str(p) for p in problem.absolute_path)
        detail = f"{prefix}: {problem.message}" + (f" (at {where})" if where else "")
        raise HTTPError(400, detail + ".")
