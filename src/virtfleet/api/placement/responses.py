"""Placement responses: JSON with the cache headers of microversion 1.15, large answers
sent in pieces, 204s, and links under where the app is mounted."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from typing import Any

import webob

from virtfleet.api.placement.microversion import since
from virtfleet.api.wsgi import HTTPError, Request, json_response


def app_url(req: Request, path: str) -> str:
    """``path`` under where the app is mounted (links are relative to the host)."""
    return f"{req.script_name}{path}"


def respond(
    req: Request, payload: Any, status: int = 200, location: str | None = None
) -> webob.Response:
    """A JSON response; from 1.15 those with a body carry cache headers."""
    if payload is not None:
        _check_accept(req)
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
    _check_accept(req)
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


def _check_accept(req: Request) -> None:
    """A GET whose ``Accept`` rules out JSON is a 406, as upstream (reads only: a
    write is never answered 406 after it was made)."""
    if req.method == "GET" and not req.accept.acceptable_offers(["application/json"]):
        raise HTTPError(406, "Only application/json is provided")


def _cache_headers(req: Request) -> dict[str, str]:
    if not since(req, "1.15"):
        return {}
    return {
        "Cache-Control": "no-cache",
        "Last-Modified": email.utils.formatdate(time.time(), usegmt=True),
    }


def no_content() -> webob.Response:
    return json_response(None, status=204)
