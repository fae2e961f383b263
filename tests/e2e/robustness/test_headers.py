"""Microversion and identity headers: malformed or out-of-range versions are a 400
or 406 naming the version and the supported range, in each API's error format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.e2e.robustness.checks import FUZZ, error_message, refused

from support.fuzz_cloud import FuzzCloud

PATHS = {"compute": "/compute/v2.1/flavors", "placement": "/placement/resource_providers"}
VERSION_TEXT = (
    st.from_regex(r"\A\s?-?[0-9]{1,25}\.[0-9]{1,25}\s?\Z")
    | st.sampled_from(["", "latest", "LATEST", "2", "2.", ".1", "2.1.1", "v2.1", "1e1", "²·¹"])
    | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=12)
)


@FUZZ
@given(
    service=st.sampled_from(["compute", "placement"]),
    text=VERSION_TEXT,
    legacy=st.booleans(),
)
def test_microversion_headers_never_5xx(
    cloud: FuzzCloud, service: str, text: str, legacy: bool
) -> None:
    header = "OpenStack-API-Version"
    value = f"{service} {text}"
    if legacy and service == "compute":
        header, value = "X-OpenStack-Nova-API-Version", text
    reply = cloud.call("GET", PATHS[service], headers={header: value})
    message = error_message(reply, PATHS[service])
    if reply.status in (400, 406):
        # Placement words it as its reference: "Invalid microversion: ..."
        expected = "Invalid microversion" if service == "placement" else service
        assert message is not None and expected in message, message


@pytest.mark.parametrize(
    ("service", "text", "status", "named"),
    [
        ("compute", "2.1000", 406, "2.1000"),
        ("compute", "3.0", 406, "2.1"),
        ("compute", "2.99999999999999999999999", 406, "2.99999999999999999999999"),
        ("compute", "two", 400, "'two'"),
        ("compute", "2.1.1", 400, "'2.1.1'"),
        ("placement", "1.999", 406, "1.999"),
        ("placement", "0.9", 406, "Unacceptable version header: 0.9"),
        ("placement", "1.x", 400, "invalid version string: 1.x"),
    ],
)
def test_bad_microversion_is_named(
    cloud: FuzzCloud, service: str, text: str, status: int, named: str
) -> None:
    path = PATHS[service]
    reply = cloud.call("GET", path, headers={"OpenStack-API-Version": f"{service} {text}"})
    refused(reply, path, status, named)


def test_placement_406_carries_the_supported_range(cloud: FuzzCloud) -> None:
    path = PATHS["placement"]
    reply = cloud.call("GET", path, headers={"OpenStack-API-Version": "placement 9.9"})
    refused(reply, path, 406, "9.9")
    (entry,) = reply.json()["errors"]
    assert entry["min_version"] == "1.0" and entry["max_version"].startswith("1.")


@FUZZ
@given(
    roles=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=20),
    project=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=255), max_size=20),
)
def test_identity_headers_never_5xx(cloud: FuzzCloud, roles: str, project: str) -> None:
    """Odd X-Roles / X-Project-Id (latin-1 header text) on reads and an admin-only write."""
    headers = {"X-Roles": roles, "X-Project-Id": project}
    requests: list[tuple[str, str, object]] = [
        ("GET", "/compute/v2.1/servers/detail", None),
        ("GET", f"/compute/v2.1/servers/{cloud.server_id}", None),
        ("POST", "/compute/v2.1/os-scheduler-explain", {"explain": {}}),
        ("GET", "/image/v2/images", None),
    ]
    for method, path, body in requests:
        error_message(cloud.call(method, path, body, headers=headers), path)
