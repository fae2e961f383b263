"""Abuse limits of the APIs (issue 14): an oversized body is a 413 on every route of
every API before the body is read; the server name filter runs in linear time; a
boot asking for many servers is refused at once."""

from __future__ import annotations

import io
import time

import pytest
import webob
from tests.e2e.robustness.checks import refused
from tests.e2e.robustness.routes import route_rows

from support.ci import time_bound
from support.fuzz_cloud import FuzzCloud, Reply, _boot
from virtfleet.api.wsgi import MAX_JSON_BODY_BYTES

C = "/compute/v2.1"
FORMATTED_APIS = ("compute", "image", "networking", "placement")


def test_oversized_body_is_413_on_every_route(cloud: FuzzCloud) -> None:
    rows = [r for r in route_rows(cloud) if r.api in FORMATTED_APIS and not r.streaming]
    assert {r.api for r in rows} == set(FORMATTED_APIS)
    body = b"{" + b" " * MAX_JSON_BODY_BYTES + b"}"
    for row in rows:
        path = row.path(cloud)
        start = time.monotonic()
        reply = cloud.call(row.method, path, raw=body)
        refused(reply, path, 413, str(MAX_JSON_BODY_BYTES))
        assert time.monotonic() - start < 1.0, row


def test_oversized_chunked_body_is_413_without_reading_it_all(cloud: FuzzCloud) -> None:
    """No Content-Length: the router reads one byte past the limit, never the rest."""
    stream = io.BytesIO(b"[" + b" " * (8 * MAX_JSON_BODY_BYTES) + b"]")
    req = webob.Request.blank(f"{C}/flavors", method="POST")
    req.environ.update({"wsgi.input": stream, "wsgi.input_terminated": True})
    req.environ.pop("CONTENT_LENGTH", None)
    req.headers["Content-Type"] = "application/json"
    assert cloud.embedded.control is not None
    resp = req.get_response(cloud.embedded.control.app)
    reply = Reply(resp.status_int, dict(resp.headers), resp.body)
    refused(reply, f"{C}/flavors", 413, "chunked")
    assert stream.tell() == MAX_JSON_BODY_BYTES + 1


def test_small_chunked_body_reaches_the_handler(cloud: FuzzCloud) -> None:
    req = webob.Request.blank(f"{C}/flavors", method="POST")
    data = b'{"flavor": {"name": "chunked", "ram": 512, "vcpus": 1, "disk": 1}}'
    req.environ.update({"wsgi.input": io.BytesIO(data), "wsgi.input_terminated": True})
    req.environ.pop("CONTENT_LENGTH", None)
    req.headers["Content-Type"] = "application/json"
    req.headers["OpenStack-API-Version"] = "compute latest"
    assert cloud.embedded.control is not None
    resp = req.get_response(cloud.embedded.control.app)
    assert resp.status_int == 200, resp.body
    flavor_id = resp.json_body["flavor"]["id"]
    assert cloud.call("DELETE", f"{C}/flavors/{flavor_id}").status == 202


@pytest.fixture(scope="module")
def long_named_server(cloud: FuzzCloud) -> str:
    """A server whose name makes backtracking regexes explode: 'a' * 40 + '!'."""
    return _boot(cloud, "a" * 40 + "!")


@pytest.mark.parametrize(
    "pattern",
    ["^(a+)+$", "^(a|a)*$", "(a*)*b", "^(.*a){20}$", "^(a|aa)+$"],
)
def test_catastrophic_name_filter_is_answered_at_once(
    cloud: FuzzCloud, long_named_server: str, pattern: str
) -> None:
    """With Python's backtracking re each of these takes hours on that name."""
    start = time.monotonic()
    reply = cloud.call("GET", f"{C}/servers?name={webob.compat.url_quote(pattern)}")
    took = time.monotonic() - start
    assert reply.status == 200, reply.body
    assert long_named_server not in {s["id"] for s in reply.json()["servers"]}
    assert took < time_bound(0.5), f"{pattern}: {took:.2f} s"


def test_name_filter_still_matches(cloud: FuzzCloud, long_named_server: str) -> None:
    reply = cloud.call("GET", f"{C}/servers?name=^a{{40}}!$")
    assert [s["id"] for s in reply.json()["servers"]] == [long_named_server]


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ("a" * 256, "at most 255"),
        ("(a)\\1", "RE2"),  # backreference
        ("(?=a)", "RE2"),  # lookahead
        ("((((a{100}){100}){100}){100})", "name filter"),  # automaton too large
    ],
)
def test_name_filter_beyond_the_bounds_is_a_400(cloud: FuzzCloud, pattern: str, named: str) -> None:
    path = f"{C}/servers?name={webob.compat.url_quote(pattern)}"
    start = time.monotonic()
    refused(cloud.call("GET", path), path, 400, named)
    assert time.monotonic() - start < 0.5


@pytest.mark.parametrize("field", ["min_count", "max_count"])
def test_boot_of_two_million_servers_is_refused_at_once(cloud: FuzzCloud, field: str) -> None:
    before = len(cloud.call("GET", f"{C}/servers").json()["servers"])
    body = {"name": "many", "flavorRef": cloud.flavor_id, "imageRef": cloud.image_id}
    body[field] = 2_000_000
    start = time.monotonic()
    reply = cloud.call("POST", f"{C}/servers", {"server": body})
    assert time.monotonic() - start < 0.5
    refused(reply, f"{C}/servers", 400, field, "2000000")
    assert len(cloud.call("GET", f"{C}/servers").json()["servers"]) == before
