"""Placement API: fuzzed provider, inventory, trait and allocation bodies and list
query strings never give a 5xx; known-bad values give a 400 naming the field."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.e2e.robustness.checks import FUZZ, error_message, refused
from tests.e2e.robustness.strategies import EDGE_INTEGERS, QUERY_VALUES, VALUES, fields_of

from support.fuzz_cloud import FuzzCloud

P = "/placement"
CLASSES = st.sampled_from(["VCPU", "MEMORY_MB", "DISK_GB", "CUSTOM_FUZZ", "vcpu", "NOPE"])
INVENTORY = fields_of(
    {
        "total": st.integers(1, 64) | EDGE_INTEGERS,
        "reserved": st.integers(0, 4) | EDGE_INTEGERS,
        "min_unit": st.integers(1, 4),
        "max_unit": st.integers(1, 64),
        "step_size": st.integers(1, 2),
        "allocation_ratio": st.floats(0, 16) | st.just(3.5e38),
    }
)


def _generation(cloud: FuzzCloud) -> int:
    shown = cloud.call("GET", f"{P}/resource_providers/{cloud.fuzz_provider}")
    generation: int = shown.json()["generation"]
    return generation


@FUZZ
@given(
    inventories=st.dictionaries(CLASSES | st.text(max_size=6), INVENTORY | VALUES, max_size=2),
    stale=st.booleans(),
)
def test_inventories_never_5xx(cloud: FuzzCloud, inventories: Any, stale: bool) -> None:
    path = f"{P}/resource_providers/{cloud.fuzz_provider}/inventories"
    generation = _generation(cloud) - (1 if stale else 0)
    body = {"resource_provider_generation": generation, "inventories": inventories}
    error_message(cloud.call("PUT", path, body), path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total", 0),
        ("total", 2**31),
        ("total", 2**63),  # out of range for any column: named by its JSON pointer
        ("total", "8"),
        ("total", 8.0),
        ("reserved", -1),
        ("min_unit", None),
        ("step_size", True),
        ("allocation_ratio", "2"),
        ("allocation_ratio", 1e39),
        ("colour", "blue"),
    ],
)
def test_bad_inventory_field_is_named(cloud: FuzzCloud, field: str, value: Any) -> None:
    path = f"{P}/resource_providers/{cloud.fuzz_provider}/inventories"
    inventory = {"total": 8, field: value}
    body = {"resource_provider_generation": _generation(cloud), "inventories": {"VCPU": inventory}}
    refused(cloud.call("PUT", path, body), path, 400, field)


@FUZZ
@given(body=fields_of({"name": st.text(min_size=1, max_size=10), "uuid": st.uuids().map(str)}))
def test_provider_create_never_5xx(cloud: FuzzCloud, body: dict[str, Any]) -> None:
    path = f"{P}/resource_providers"
    reply = cloud.call("POST", path, body)
    error_message(reply, path)
    if reply.status == 200:
        cloud.call("DELETE", f"{path}/{reply.json()['uuid']}")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x", "uuid": "not-a-uuid"}, "uuid"),
        ({"name": "x", "parent_provider_uuid": 7}, "parent_provider_uuid"),
        ({"name": "\udc80"}, "/name"),  # regression: 500 (UnicodeEncodeError in SQLite)
        ({"name": "x", "nom": "x"}, "nom"),
    ],
)
def test_bad_provider_is_named(cloud: FuzzCloud, body: dict[str, Any], named: str) -> None:
    path = f"{P}/resource_providers"
    refused(cloud.call("POST", path, body), path, 400, named)


@FUZZ
@given(
    traits=st.lists(st.sampled_from(["CUSTOM_A", "HW_CPU_X86_AVX2", "nope"]) | VALUES, max_size=3)
)
def test_provider_traits_never_5xx(cloud: FuzzCloud, traits: list[Any]) -> None:
    path = f"{P}/resource_providers/{cloud.fuzz_provider}/traits"
    body = {"resource_provider_generation": _generation(cloud), "traits": traits}
    error_message(cloud.call("PUT", path, body), path)


def _allocation(cloud: FuzzCloud, resources: Any, **extra: Any) -> dict[str, Any]:
    return {
        "allocations": {cloud.fuzz_provider: {"resources": resources}},
        "project_id": "p",
        "user_id": "u",
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
        **extra,
    }


@FUZZ
@given(
    resources=st.dictionaries(CLASSES, st.integers(1, 4) | EDGE_INTEGERS | VALUES, max_size=2),
    extra=fields_of(
        {
            "project_id": st.just("p"),
            "user_id": st.just("u"),
            "consumer_generation": st.none() | st.integers(0, 3),
            "consumer_type": st.just("INSTANCE"),
        }
    ),
    many=st.booleans(),
)
def test_allocations_never_5xx(
    cloud: FuzzCloud, resources: Any, extra: dict[str, Any], many: bool
) -> None:
    consumer = str(uuid.uuid4())
    body = _allocation(cloud, resources, **extra)
    if many:
        reply = cloud.call("POST", f"{P}/allocations", {consumer: body})
        error_message(reply, f"{P}/allocations")
    else:
        reply = cloud.call("PUT", f"{P}/allocations/{consumer}", body)
        error_message(reply, f"{P}/allocations/{consumer}")
    cloud.call("DELETE", f"{P}/allocations/{consumer}")


@pytest.mark.parametrize(
    ("resources", "extra", "named"),
    [
        ({"VCPU": 0}, {}, "VCPU"),
        ({"VCPU": 2**31}, {}, "VCPU"),
        ({"VCPU": 2**63}, {}, "/VCPU"),
        ({"VCPU": "1"}, {}, "VCPU"),
        ({"vcpu": 1}, {}, "vcpu"),
        ({"VCPU": 1}, {"project_id": ""}, "project_id"),
        ({"VCPU": 1}, {"user_id": 5}, "user_id"),
        ({"VCPU": 1}, {"consumer_generation": "0"}, "consumer_generation"),
        ({"VCPU": 1}, {"consumer_type": "lower case"}, "consumer_type"),
    ],
)
def test_bad_allocation_is_named(
    cloud: FuzzCloud, resources: dict[str, Any], extra: dict[str, Any], named: str
) -> None:
    consumer = "4e0d9d5c-1b7a-4c8e-9a43-3f1c6e2b7d10"
    body = _allocation(cloud, resources, **extra)
    path = f"{P}/allocations/{consumer}"
    refused(cloud.call("PUT", path, body), path, 400, named)
    path = f"{P}/allocations"
    refused(cloud.call("POST", path, {consumer: body}), path, 400, named)


def test_post_allocations_names_a_bad_consumer_key(cloud: FuzzCloud) -> None:
    path = f"{P}/allocations"
    body = {"not-a-uuid": _allocation(cloud, {"VCPU": 1})}
    refused(cloud.call("POST", path, body), path, 400, "not-a-uuid")


LIST_QUERIES = {
    f"{P}/resource_providers": ("name", "uuid", "member_of", "in_tree", "resources", "required"),
    f"{P}/allocation_candidates": (
        "resources",
        "resources1",
        "required",
        "member_of",
        "in_tree",
        "limit",
        "group_policy",
        "root_required",
        "same_subtree",
    ),
    f"{P}/usages": ("project_id", "user_id", "consumer_type"),
    f"{P}/traits": ("name", "associated"),
    f"{P}/resource_classes": ("name",),
}


@FUZZ
@given(
    path=st.sampled_from(sorted(LIST_QUERIES)),
    data=st.data(),
    version=st.sampled_from(["1.0", "1.10", "1.25", "1.33", "latest"]),
)
def test_list_query_strings_never_5xx(
    cloud: FuzzCloud, path: str, data: st.DataObject, version: str
) -> None:
    names = st.sampled_from(LIST_QUERIES[path]) | st.text(max_size=5)
    pairs = data.draw(st.lists(st.tuples(names, QUERY_VALUES), max_size=4))
    headers = {"OpenStack-API-Version": f"placement {version}"}
    reply = cloud.call("GET", f"{path}?{urllib.parse.urlencode(pairs)}", headers=headers)
    error_message(reply, path)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("allocation_candidates?resources=VCPU:x", "VCPU"),
        ("allocation_candidates?resources=VCPU:-1", "VCPU"),
        ("allocation_candidates?resources=VCPU:1&colour=blue", "colour"),
        ("allocation_candidates?resources=VCPU:1&group_policy=sometimes", "group_policy"),
        ("allocation_candidates?resources=%FF", "resources"),  # regression: 500
        ("resource_providers?member_of=not-a-uuid", "member_of"),
        ("resource_providers?uuid=nope", "nope"),
        ("resource_providers?resources=VCPU:2e3", "2e3"),
        ("usages", "project_id"),
        ("usages?project_id=%FF", "project_id"),  # regression: 500
        ("traits?name=CUSTOM_A", "CUSTOM_A"),
        ("traits?associated=maybe", "maybe"),
    ],
)
def test_bad_placement_query_is_named(cloud: FuzzCloud, query: str, named: str) -> None:
    path = f"{P}/{query}"
    refused(cloud.call("GET", path), path, 400, named)


def test_trait_name_too_long_is_named(cloud: FuzzCloud) -> None:
    path = f"{P}/traits/CUSTOM_{'A' * 300}"
    refused(cloud.call("PUT", path), path, 400, "CUSTOM_AAAA")
