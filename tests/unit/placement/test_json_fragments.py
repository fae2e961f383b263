"""The JSON each candidate and summary keeps equals the Placement API shape."""

from __future__ import annotations

import json

from virtfleet.placement.types import AllocationRequest, ProviderSummary, ResourceUsage


def test_allocation_request_json_is_the_1_34_shape() -> None:
    shared = {"rp-b": {"VCPU": 2, "MEMORY_MB": 512}, "rp-a": {"CUSTOM_SLICE_1": 1}}
    first = AllocationRequest(shared, {"": ["rp-b"], "_G1": ["rp-a"]})
    second = AllocationRequest(shared, {"": ["rp-b"], "_G1": ["rp-a", "rp-b"]})
    for request in (first, second):
        assert json.loads(request.json) == {
            "allocations": {
                "rp-a": {"resources": {"CUSTOM_SLICE_1": 1}},
                "rp-b": {"resources": {"MEMORY_MB": 512, "VCPU": 2}},
            },
            "mappings": {k: list(v) for k, v in request.mappings.items()},
        }
    assert first.json is first.json  # computed once


def test_summary_entry_is_the_1_29_shape() -> None:
    root = ProviderSummary(
        "rp-a", {"VCPU": ResourceUsage(16, 3)}, frozenset({"B", "A"}), None, "rp-a"
    )
    child = ProviderSummary("rp-c", {}, frozenset(), "rp-a", "rp-a")
    body = json.loads(b"{" + root.json_entry + b", " + child.json_entry + b"}")
    assert body == {
        "rp-a": {
            "resources": {"VCPU": {"capacity": 16, "used": 3}},
            "traits": ["A", "B"],
            "parent_provider_uuid": None,
            "root_provider_uuid": "rp-a",
        },
        "rp-c": {
            "resources": {},
            "traits": [],
            "parent_provider_uuid": "rp-a",
            "root_provider_uuid": "rp-a",
        },
    }
