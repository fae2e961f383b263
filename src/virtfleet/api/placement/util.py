"""Helpers shared by the Placement handlers: body and query validation, links,
response headers."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import webob

from virtfleet.api.placement import errors
from virtfleet.api.placement.microversion import since
from virtfleet.api.wsgi import HTTPError, Request, json_response

Schema = Mapping[str, Any]


def body(req: Request, schema: Schema) -> Any:
    """The JSON body, validated against ``schema`` (400 naming the problem)."""
    if req.content_type and req.content_type != "application/json":
        raise HTTPError(
            415, f"The media type {req.content_type} is not supported, use application/json."
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


def app_url(req: Request, path: str) -> str:
    """``path`` under where the app is mounted (links are relative to the host)."""
    return f"{req.script_name}{path}"


def respond(
    req: Request, payload: Any, status: int = 200, location: str | None = None
) -> webob.Response:
    """A JSON response; from 1.15 those with a body carry cache headers."""
    headers: dict[str, str] = {}
    if location is not None:
        headers["Location"] = location
    if payload is not None:
        headers.update(_cache_headers(req))
    return json_response(payload, status=status, headers=headers)


#: Largest piece handed to the WSGI server at once. cheroot's socket writer copies
#: its whole pending buffer on every send(), so one multi-megabyte piece costs time
#: quadratic in its size (a 16 MB answer took ~100 ms more than in 256 kB pieces).
WRITE_PIECE = 256 * 1024


def respond_encoded(req: Request, parts: list[bytes]) -> webob.Response:
    """A 200 whose JSON body is already encoded, in ``parts`` (large answers are
    sent as built, in pieces of at most :data:`WRITE_PIECE` bytes)."""
    resp = webob.Response(status=200)
    resp.content_type = "application/json"
    resp.charset = None
    resp.app_iter = list(_pieces(parts))
    resp.content_length = sum(len(part) for part in parts)
    for key, value in _cache_headers(req).items():
        resp.headers[key] = value
    return resp


def joined_in_pieces(items: list[bytes], separator: bytes = b", ") -> list[bytes]:
    """``separator.join(items)`` as consecutive pieces of about half
    :data:`WRITE_PIECE` (never copied into one string, never split again)."""
    if not items:
        return []
    per_piece = max(1, WRITE_PIECE // 2 // (len(items[0]) + len(separator)))
    if len(items) <= per_piece:
        return [separator.join(items)]
    pieces = []
    for start in range(0, len(items), per_piece):
        chunk = items[start : start + per_piece]
        if start + per_piece < len(items):
            chunk.append(b"")  # the separator before the next piece
        pieces.append(separator.join(chunk))
    return pieces


def _pieces(parts: list[bytes]) -> Iterator[bytes]:
    for part in parts:
        if len(part) <= WRITE_PIECE:
            yield part
            continue
        view = memoryview(part)
        for start in range(0, len(part), WRITE_PIECE):
            yield bytes(view[start : start + WRITE_PIECE])


def _cache_headers(req: Request) -> dict[str, str]:
    if not since(req, "1.15"):
        return {}
    return {
        "Cache-Control": "no-cache",
        "Last-Modified": email.utils.formatdate(time.time(), usegmt=True),
    }


def no_content() -> webob.Response:
    return json_response(None, status=204)
