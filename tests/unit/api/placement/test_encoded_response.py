"""Large pre-encoded answers go to the WSGI server in bounded pieces, unchanged."""

from __future__ import annotations

import json

import webob

from virtfleet.api.placement import responses
from virtfleet.api.wsgi import Microversion, Request


def _request(version: str) -> Request:
    req = Request(webob.Request.blank("/allocation_candidates").environ)
    req.environ["virtfleet.microversion"] = Microversion.parse(version)
    return req


def test_large_parts_are_split_and_small_ones_kept() -> None:
    big = b"[" + b", ".join([b'"%d"' % i for i in range(200_000)]) + b"]"
    assert len(big) > 3 * responses.WRITE_PIECE
    parts = [b'{"a": ', big, b', "b": "x"}']
    pieces = list(responses._pieces(parts))
    assert max(len(p) for p in pieces) <= responses.WRITE_PIECE
    assert pieces[0] == parts[0] and pieces[-1] == parts[-1]
    assert len(pieces) > 4
    assert b"".join(pieces) == b"".join(parts)


def test_encoded_response_has_the_whole_body_and_its_length() -> None:
    parts = [b'{"x": [', b", ".join([b"1"] * 300_000), b"]}"]
    resp = responses.respond_encoded(_request("1.39"), parts)
    body = b"".join(resp.app_iter)
    assert resp.status_int == 200
    assert resp.content_length == len(body) == sum(len(p) for p in parts)
    assert resp.content_type == "application/json"
    assert json.loads(body) == {"x": [1] * 300_000}


def test_joined_in_pieces_is_the_join_in_bounded_pieces() -> None:
    items = [b'{"n": %d}' % i for i in range(100_000)]
    pieces = responses.joined_in_pieces(items)
    assert len(pieces) > 2
    assert all(len(p) <= responses.WRITE_PIECE for p in pieces)
    assert b"".join(pieces) == b", ".join(items)
    assert responses.joined_in_pieces([b"a", b"b"]) == [b"a, b"]
    assert responses.joined_in_pieces([]) == []
