"""Image API: fuzzed create bodies, JSON patches, uploads and list filters never give
a 5xx; known-bad values give a 4xx naming the field or value."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.e2e.robustness.checks import FUZZ, error_message, refused
from tests.e2e.robustness.endpoints import JSON_PATCH
from tests.e2e.robustness.strategies import QUERY_VALUES, VALUES, fields_of

from support.fuzz_cloud import FuzzCloud

IMAGES = "/image/v2/images"
PROPERTIES = {
    "hw_architecture": st.sampled_from(["x86_64", "aarch64", "i686", "amd64"]),
    "hw_machine_type": st.sampled_from(["q35", "pc", "virt", "nope"]),
    "hw_firmware_type": st.sampled_from(["bios", "uefi"]),
    "hw_disk_bus": st.sampled_from(["virtio", "scsi"]),
    "hw_maxphysaddr_mode": st.sampled_from(["emulate", "passthrough"]),
    "hw_maxphysaddr_bits": st.sampled_from(["32", "40", "52"]),
    "kernel_id": st.just("IMAGE"),
}
CREATE_FIELDS = {
    "name": st.text(max_size=10),
    "disk_format": st.sampled_from(["raw", "qcow2", "iso"]),
    "container_format": st.sampled_from(["bare", "ovf"]),
    "visibility": st.sampled_from(["public", "private", "shared", "community"]),
    "protected": st.just(False),
    "min_ram": st.integers(0, 4096),
    "min_disk": st.integers(0, 100),
    "tags": st.lists(st.text(max_size=5), max_size=2),
    "id": st.uuids().map(str),
    **PROPERTIES,
}


def _ids(cloud: FuzzCloud, value: Any) -> Any:
    return cloud.image_id if value == "IMAGE" else value


@FUZZ
@given(body=fields_of(CREATE_FIELDS))
def test_image_create_never_5xx(cloud: FuzzCloud, body: dict[str, Any]) -> None:
    body = {k: _ids(cloud, v) for k, v in body.items()}
    reply = cloud.call("POST", IMAGES, body)
    error_message(reply, IMAGES)
    if reply.status == 201:
        cloud.call("DELETE", f"{IMAGES}/{reply.json()['id']}")


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [
        ("name", 5, 400),
        ("min_ram", -1, 400),
        ("min_ram", "512", 400),
        ("min_ram", 2**63, 400),  # regression: 500 (OverflowError in SQLite)
        ("min_disk", True, 400),
        ("visibility", "everyone", 400),
        ("protected", "yes", 400),
        ("tags", "a,b", 400),
        ("disk_format", ["raw"], 400),
        ("id", "nope", 400),  # was accepted: not a UUID (the data store refused it later)
        ("id", 5, 400),
        ("hw_firmware_type", "coreboot", 400),
        ("hw_maxphysaddr_bits", "53", 400),
        ("hw_maxphysaddr_bits", 40, 400),
        ("kernel_id", "no-such-image", 400),
        ("custom_property", {"nested": 1}, 400),
        ("status", "active", 403),
        ("size", 1, 403),
    ],
)
def test_image_create_names_the_bad_field(
    cloud: FuzzCloud, field: str, value: Any, status: int
) -> None:
    refused(cloud.call("POST", IMAGES, {"name": "bad", field: value}), IMAGES, status, field)


PATCH_PATHS = st.sampled_from(
    [
        *("/name", "/min_ram", "/tags", "/tags/-", "/tags/0", "/visibility", "/hw_disk_bus"),
        *("/id", "/status", "/custom", "/", "", "/a/b", "name", "/~1x"),
    ]
)
PATCH_OPS = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "remove", "move", "copy", "test"]) | VALUES},
    optional={"path": PATCH_PATHS | VALUES, "value": VALUES, "from": PATCH_PATHS},
)


@FUZZ
@given(patch=st.lists(PATCH_OPS | VALUES, max_size=3))
def test_image_patch_never_5xx(cloud: FuzzCloud, patch: list[Any]) -> None:
    created = cloud.call("POST", IMAGES, {"name": "patched"})
    assert created.status == 201, created.body
    path = f"{IMAGES}/{created.json()['id']}"
    try:
        error_message(cloud.call("PATCH", path, patch, content_type=JSON_PATCH), path)
    finally:
        cloud.call("DELETE", path)


@pytest.mark.parametrize(
    ("operation", "named"),
    [
        ({"op": "frobnicate", "path": "/name", "value": "x"}, "frobnicate"),
        ({"path": "/name", "value": "x"}, "op"),
        ({"op": "replace", "value": "x"}, "path"),
        ({"op": "replace", "path": "/min_ram", "value": "lots"}, "min_ram"),
        ({"op": "replace", "path": "/min_ram", "value": 2**63}, "/0/value"),
        ({"op": "add", "path": "/hw_disk_bus", "value": "floppy"}, "hw_disk_bus"),
        ({"op": "remove", "path": "/no_such_property"}, "no_such_property"),
        ("replace", "replace"),
    ],
)
def test_bad_patch_operation_is_named(cloud: FuzzCloud, operation: Any, named: str) -> None:
    path = f"{IMAGES}/{cloud.image_id}"
    reply = cloud.call("PATCH", path, [operation], content_type=JSON_PATCH)
    message = error_message(reply, path)
    assert reply.status in (400, 409), reply.body
    assert message is not None and named in message, message


def test_patch_with_plain_json_is_a_415_naming_the_type(cloud: FuzzCloud) -> None:
    path = f"{IMAGES}/{cloud.image_id}"
    refused(cloud.call("PATCH", path, []), path, 415, JSON_PATCH)


@pytest.mark.parametrize("content_type", ["application/octet-stream", "application/json", None])
def test_upload_twice_or_to_nowhere_is_refused(cloud: FuzzCloud, content_type: str | None) -> None:
    again = f"{IMAGES}/{cloud.image_id}/file"
    reply = cloud.call("PUT", again, raw=b"more", content_type=content_type)
    refused(reply, again, 409, "active")
    nowhere = f"{IMAGES}/8d6a1a5e-0000-4000-8000-000000000000/file"
    reply = cloud.call("PUT", nowhere, raw=b"data", content_type=content_type)
    refused(reply, nowhere, 404, "8d6a1a5e-0000-4000-8000-000000000000")


def test_upload_of_an_empty_body_is_not_a_5xx(cloud: FuzzCloud) -> None:
    created = cloud.call("POST", IMAGES, {"name": "empty"})
    path = f"{IMAGES}/{created.json()['id']}/file"
    try:
        error_message(cloud.call("PUT", path, raw=b"", content_type=None), path)
    finally:
        cloud.call("DELETE", f"{IMAGES}/{created.json()['id']}")


LIST_QUERY = ("limit", "marker", "name", "visibility", "status", "tag", "size_min", "os_hidden")


@FUZZ
@given(
    pairs=st.lists(
        st.tuples(st.sampled_from(LIST_QUERY) | st.text(max_size=5), QUERY_VALUES), max_size=4
    )
)
def test_image_list_filters_never_5xx(cloud: FuzzCloud, pairs: list[tuple[str, str]]) -> None:
    reply = cloud.call("GET", f"{IMAGES}?{urllib.parse.urlencode(pairs)}")
    error_message(reply, IMAGES)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("limit=-1", "limit"),
        ("limit=%C2%B2", "limit"),  # regression: 500 ('²'.isdigit() but int() refuses it)
        ("limit=99999999999999999999", "limit"),
        ("marker=nope", "nope"),
        ("marker=%FF", "marker"),  # regression: 500 (UnicodeDecodeError)
    ],
)
def test_bad_image_list_query_is_named(cloud: FuzzCloud, query: str, named: str) -> None:
    refused(cloud.call("GET", f"{IMAGES}?{query}"), IMAGES, 400, named)
