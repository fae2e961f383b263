"""Every route of the Compute, Image, Networking and Placement route tables, fuzzed: random path
ids, query strings, microversions, media types and bodies. On every example:

- never a 5xx, and a 4xx carries the imitated API's error body (Nova's
  ``{"badRequest": {...}}``, Placement's ``errors[]``, Glance's, Neutron's
  ``{"NeutronError": {...}}``);
- a refused request (4xx) changes nothing in the database or placement;
- a small request is answered within :data:`TIME_BOUND` seconds.

(Only Nova's own 501 for a hypervisor without uptime is allowed, in Nova's format.)

The route list comes from the route tables themselves, and a test checks that the
running cloud serves exactly these, so a new route is fuzzed without being listed.
Budget: ``VIRTFLEET_FUZZ_ROUTE_EXAMPLES`` per route (default 8; CI); a longer hunt:
``VIRTFLEET_FUZZ_ROUTE_EXAMPLES=200 VIRTFLEET_FUZZ_RANDOM=1`` (docs/limits.md).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.e2e.robustness.checks import FUZZ, error_message
from tests.e2e.robustness.routes import RouteRow, route_rows
from tests.e2e.robustness.state import fingerprint, settle
from tests.e2e.robustness.strategies import QUERY_VALUES, VALUES

from support.ci import time_bound
from support.fuzz_cloud import FuzzCloud
from virtfleet.api.compute import routes as compute_routes
from virtfleet.api.image import routes as image_routes
from virtfleet.api.network import routes as network_routes
from virtfleet.api.placement import routes as placement_routes

#: Generous for a loaded CI machine: unloaded, every fuzzed request takes < 50 ms.
TIME_BOUND = time_bound(3.0)
#: 5xx answers the imitated API gives on purpose: Nova answers 501 for a hypervisor
#: whose driver does not report its uptime (os-hypervisors/{id}/uptime).
DOCUMENTED_5XX = {("GET", "/compute/v2.1/os-hypervisors/{hypervisor_id}/uptime"): 501}
EXAMPLES = int(os.environ.get("VIRTFLEET_FUZZ_ROUTE_EXAMPLES", "8"))
FORMATTED_APIS = ("compute", "image", "networking", "placement")


def static_rows() -> list[RouteRow]:
    tables = {
        "compute": (compute_routes.ROUTES, ()),
        "image": (image_routes.ROUTES, image_routes.STREAMING),
        "placement": (placement_routes.ROUTES, ()),
        "networking": (network_routes.ROUTES, ()),
    }
    return [
        RouteRow(api, r.method, f"/{api}{r.path}".rstrip("/") or f"/{api}", r.path in streaming)
        for api, (table, streaming) in tables.items()
        for r in table
    ]


ROWS = static_rows()
ODD_IDS = (
    st.text(min_size=1, max_size=12).map(lambda t: urllib.parse.quote(t, safe=""))
    | st.integers().map(str)
    | st.uuids().map(str)
    | st.sampled_from(["0", "-1", "9223372036854775808", "%00", "..", "CUSTOM_X", "detail"])
)
VERSIONS = {
    "compute": st.sampled_from(["compute latest", "compute 2.1", "compute 2.60", "compute 2.x"]),
    "placement": st.sampled_from(["placement latest", "placement 1.0", "placement 1.20"]),
    "image": st.just(""),
    "networking": st.just(""),
}
MEDIA_TYPES = st.sampled_from(
    [
        "application/json",
        "application/openstack-images-v2.1-json-patch",
        "application/octet-stream",
        "text/plain",
        "",
    ]
)
BODIES = (
    VALUES.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=64)
    | st.just(b"")
    | st.dictionaries(
        st.sampled_from(["server", "flavor", "name", "uuid", "resources"]), VALUES
    ).map(lambda v: json.dumps(v).encode())
)


@st.composite
def requests(draw: st.DrawFn, row: RouteRow) -> dict[str, Any]:
    params = re.findall(r"\{(\w+)\}", row.template)
    given = {}
    for name in params:
        # DELETE never aims at the seeded objects (the next examples need them).
        if row.method == "DELETE" or draw(st.booleans()):
            given[name] = draw(ODD_IDS)
    query = draw(st.lists(st.tuples(st.text(max_size=8), QUERY_VALUES), max_size=3))
    headers = {}
    version = draw(VERSIONS[row.api])
    if version:
        headers["OpenStack-API-Version"] = version
    body = draw(BODIES) if row.method in ("POST", "PUT", "PATCH") or draw(st.booleans()) else None
    return {
        "given": given,
        "query": urllib.parse.urlencode(query),
        "headers": headers,
        "body": body,
        "content_type": draw(MEDIA_TYPES),
    }


def test_the_fuzzed_routes_are_the_served_routes(cloud: FuzzCloud) -> None:
    served = {r for r in route_rows(cloud) if r.api in FORMATTED_APIS}
    assert served == set(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=str)
@settings(FUZZ, max_examples=EXAMPLES)
@given(data=st.data())
def test_route_invariants(cloud: FuzzCloud, row: RouteRow, data: st.DataObject) -> None:
    request = data.draw(requests(row))
    path = row.path(cloud, **request["given"])
    settle(cloud)  # work accepted earlier (here or by another test) has finished
    before = fingerprint(cloud)
    start = time.monotonic()
    reply = cloud.call(
        row.method,
        f"{path}?{request['query']}" if request["query"] else path,
        raw=request["body"],
        headers=request["headers"],
        content_type=request["content_type"] or None,
    )
    took = time.monotonic() - start
    if DOCUMENTED_5XX.get((row.method, row.template)) == reply.status:
        assert b"notImplemented" in reply.body, reply.body
    else:
        error_message(reply, path)  # never 5xx; a 4xx in the API's format
    assert took < TIME_BOUND, f"{row}: {took:.2f} s"
    if reply.status >= 400:
        assert fingerprint(cloud) == before, f"{row} refused ({reply.status}) but changed state"
    else:
        settle(cloud)
