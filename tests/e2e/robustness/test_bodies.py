"""Malformed bodies on every route that takes one: a 400 (or 415 for a foreign media
type) in the API's error format, naming what is wrong; arbitrary JSON never a 5xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.e2e.robustness.checks import FUZZ, api_of, error_message, refused
from tests.e2e.robustness.endpoints import BODY_ENDPOINTS, Endpoint

from support.fuzz_cloud import FuzzCloud
from virtfleet.api.wsgi import MAX_JSON_BODY_BYTES

# (raw body, words the message must contain)
MALFORMED = {
    "empty": (b"", ("empty",)),
    "truncated": (b'{"a": ', ("Malformed",)),
    "not utf-8": (b"\xff\xfe\xfa{", ("Malformed",)),
    "single quotes": (b"{'a': 1}", ("Malformed",)),
    "trailing garbage": (b"{} {}", ("Malformed",)),
    "NaN": (b'{"a": NaN}', ("NaN",)),
    "Infinity": (b'{"a": [-Infinity]}', ("Infinity",)),
    "float overflow": (b'{"a": {"b": 1e999}}', ("/a/b", "out of range")),
    "2**63": (b'{"a": [1, 9223372036854775808]}', ("/a/1", "9223372036854775808")),
    "-2**63-1": (b'{"a": -9223372036854775809}', ("/a", "out of range")),
    "lone surrogate": (b'{"a": "\\ud800"}', ("/a", "surrogate")),
    "lone surrogate key": (b'{"\\udfff": 1}', ("surrogate",)),
    "deep (recursion)": (b"[" * 100_000 + b"]" * 100_000, ("nested too deeply",)),
    "deep (walk)": (b'{"a": ' * 200 + b"1" + b"}" * 200, ("nested more than",)),
}


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_body_is_a_400_naming_the_problem(
    cloud: FuzzCloud, endpoint: Endpoint, case: str
) -> None:
    raw, words = MALFORMED[case]
    path = endpoint.path(cloud)
    reply = cloud.call(endpoint.method, path, raw=raw, content_type=endpoint.content_type)
    refused(reply, path, 400, *words)


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_foreign_media_type_is_refused(cloud: FuzzCloud, endpoint: Endpoint) -> None:
    path = endpoint.path(cloud)
    reply = cloud.call(endpoint.method, path, raw=b"<a>1</a>", content_type="text/xml")
    refused(reply, path, 415, "text/xml")


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
@pytest.mark.parametrize("body", [None, True, 0, -1.5, "x", [[]], [{}]], ids=repr)
def test_wrong_top_level_type_is_a_4xx(cloud: FuzzCloud, endpoint: Endpoint, body: object) -> None:
    path = endpoint.path(cloud)
    reply = cloud.call(
        endpoint.method, path, raw=json.dumps(body).encode(), content_type=endpoint.content_type
    )
    assert error_message(reply, path) is not None, reply.body


def test_long_field_is_refused_naming_it(cloud: FuzzCloud) -> None:
    """A 500 kB server name: a 400 naming the field and its limit."""
    path = "/compute/v2.1/servers"
    big = {"server": {"name": "n" * 500_000, "flavorRef": "x", "imageRef": "y"}}
    refused(cloud.call("POST", path, big), path, 400, "name", "255")


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_huge_body_is_a_413_before_it_is_parsed(cloud: FuzzCloud, endpoint: Endpoint) -> None:
    """4 MB of JSON (over the 1 MiB bound of JSON bodies): never parsed."""
    path = endpoint.path(cloud)
    raw = b'{"a": "' + b"x" * 4_000_000 + b'"}'
    reply = cloud.call(endpoint.method, path, raw=raw, content_type=endpoint.content_type)
    refused(reply, path, 413, "too large", str(MAX_JSON_BODY_BYTES))


def test_image_upload_is_not_bounded_like_json(cloud: FuzzCloud) -> None:
    """Image data is streamed, not JSON: 2 MiB uploads fine."""
    created = cloud.call("POST", "/image/v2/images", {"name": "big", "disk_format": "raw"})
    path = f"/image/v2/images/{created.json()['id']}"
    try:
        raw = b"\0" * (2 * MAX_JSON_BODY_BYTES)
        uploaded = cloud.call(
            "PUT", f"{path}/file", raw=raw, content_type="application/octet-stream"
        )
        assert uploaded.status == 204, uploaded.body
        assert cloud.call("GET", path).json()["size"] == len(raw)
    finally:
        cloud.call("DELETE", path)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


VERSIONS: dict[str, list[str | None]] = {
    "compute": ["2.1", "2.24", "2.54", "2.55", "latest"],
    "placement": ["1.0", "1.7", "1.12", "1.19", "1.27", "1.28", "1.37", "latest"],
    "image": [None],
}


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
@FUZZ
@given(body=JSON_VALUES, data=st.data())
def test_arbitrary_json_is_never_a_5xx(
    cloud: FuzzCloud, endpoint: Endpoint, body: object, data: st.DataObject
) -> None:
    """At microversions on both sides of each body schema change."""
    path = endpoint.path(cloud)
    api = api_of(path)
    version = data.draw(st.sampled_from(VERSIONS[api]))
    headers = {"OpenStack-API-Version": f"{api} {version}"} if version else {}
    reply = cloud.call(
        endpoint.method,
        path,
        raw=json.dumps(body).encode(),
        content_type=endpoint.content_type,
        headers=headers,
    )
    error_message(reply, path)
