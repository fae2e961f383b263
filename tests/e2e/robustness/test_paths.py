"""Every route with a path parameter, given odd ids (text, numbers, percent-encoded
bytes): never a 5xx, and a 4xx is in the API's error format."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.e2e.robustness.checks import FUZZ, error_message

from support.fuzz_cloud import FuzzCloud

C = "/compute/v2.1"
RP = "/placement/resource_providers"
ROUTES = (
    ("GET", f"{C}/flavors/{{}}"),
    ("DELETE", f"{C}/flavors/{{}}"),
    ("GET", f"{C}/flavors/{{}}/os-extra_specs"),
    ("GET", f"{C}/flavors/FLAVOR/os-extra_specs/{{}}"),
    ("DELETE", f"{C}/flavors/FLAVOR/os-extra_specs/{{}}"),
    ("GET", f"{C}/servers/{{}}"),
    ("GET", f"{C}/servers/{{}}/os-domain-xml"),
    ("GET", f"{C}/servers/{{}}/migrations"),
    ("GET", f"{C}/servers/SERVER/migrations/{{}}"),
    ("DELETE", f"{C}/servers/SERVER/migrations/{{}}"),
    ("GET", f"{C}/os-hypervisors/{{}}"),
    ("GET", f"{C}/os-hypervisors/{{}}/uptime"),
    ("GET", "/image/v2/images/{}"),
    ("GET", "/image/v2/images/{}/file"),
    ("DELETE", "/image/v2/images/{}"),
    ("GET", f"{RP}/{{}}"),
    ("GET", f"{RP}/{{}}/inventories"),
    ("GET", f"{RP}/FUZZRP/inventories/{{}}"),
    ("DELETE", f"{RP}/FUZZRP/inventories/{{}}"),
    ("GET", f"{RP}/{{}}/usages"),
    ("GET", f"{RP}/{{}}/allocations"),
    ("GET", f"{RP}/{{}}/traits"),
    ("GET", f"{RP}/{{}}/aggregates"),
    ("GET", "/placement/allocations/{}"),
    ("DELETE", "/placement/allocations/{}"),
    ("GET", "/placement/traits/{}"),
    ("PUT", "/placement/traits/{}"),
    ("GET", "/placement/resource_classes/{}"),
)
IDS = (
    st.text(min_size=1, max_size=20).map(lambda t: urllib.parse.quote(t, safe=""))
    | st.integers().map(str)
    | st.binary(min_size=1, max_size=6).map(lambda b: urllib.parse.quote_from_bytes(b, safe=""))
    | st.sampled_from(["0", "-1", "9223372036854775808", "%00", "..", "%2e%2e", "CUSTOM_"])
)


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=lambda r: str(r))
@settings(FUZZ, max_examples=25)
@given(item=IDS)
def test_odd_ids_in_paths_never_5xx(
    cloud: FuzzCloud, method: str, template: str, item: str
) -> None:
    path = (
        template.replace("FLAVOR", cloud.flavor_id)
        .replace("SERVER", cloud.server_id)
        .replace("FUZZRP", cloud.fuzz_provider)
        .format(item)
    )
    error_message(cloud.call(method, path), path)


@pytest.mark.parametrize("version", ["2.1", "2.52"])
@pytest.mark.parametrize(
    "item", ["\u00b2", "99999999999999999999", "-1", "1.0", "%C2%B2"], ids=repr
)
def test_integer_hypervisor_ids_before_2_53(cloud: FuzzCloud, version: str, item: str) -> None:
    """Regression: '²' passed str.isdigit() and 2**64 reached SQLite (both a 500)."""
    path = f"{C}/os-hypervisors/{urllib.parse.quote(item)}"
    reply = cloud.call("GET", path, headers={"OpenStack-API-Version": f"compute {version}"})
    message = error_message(reply, path)
    assert reply.status in (400, 404), reply.body
    assert message is not None and "ypervisor" in message, message


@pytest.mark.parametrize(("method", "template"), ROUTES[:11], ids=lambda r: str(r))
@settings(FUZZ, max_examples=10)
@given(item=IDS, version=st.sampled_from(["2.1", "2.22", "2.52"]))
def test_odd_ids_at_old_compute_versions_never_5xx(
    cloud: FuzzCloud, method: str, template: str, item: str, version: str
) -> None:
    path = template.replace("FLAVOR", cloud.flavor_id).replace("SERVER", cloud.server_id)
    reply = cloud.call(
        method, path.format(item), headers={"OpenStack-API-Version": f"compute {version}"}
    )
    error_message(reply, path)


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS", "TRACE", "FROB"])
@pytest.mark.parametrize(
    "path", ["/compute/v2.1/servers", "/image/v2/images", "/placement/resource_providers"]
)
def test_unsupported_method_is_a_405_naming_it(cloud: FuzzCloud, method: str, path: str) -> None:
    reply = cloud.call(method, path)
    message = error_message(reply, path)
    assert reply.status == 405 and reply.headers.get("Allow"), reply.body
    assert message is not None and method in message, message
