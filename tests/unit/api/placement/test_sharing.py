"""Sharing providers: a DISK_GB pool with MISC_SHARES_VIA_AGGREGATE in an aggregate
with two compute nodes, and a third compute node with its own disk outside it."""

from __future__ import annotations

from typing import Any

import pytest

from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory

from .conftest import CN1, CN2, CONSUMER, CONSUMER2, PROJECT, USER, Client, generation_of

AC = "/allocation_candidates"
CN3 = "c0000000-0000-4000-8000-000000000003"
SS = "55000000-0000-4000-8000-000000000001"
AGG = "ad000000-0000-4000-8000-00000000000a"
OTHER_AGG = "ad000000-0000-4000-8000-00000000000b"


def _aggregates(client: Client, uuid: str, *aggregates: str) -> None:
    body = {
        "aggregates": list(aggregates),
        "resource_provider_generation": generation_of(client, uuid),
    }
    assert client.put(f"/resource_providers/{uuid}/aggregates", body).status == 200


def _traits(client: Client, uuid: str, *traits: str) -> None:
    body = {"traits": list(traits), "resource_provider_generation": generation_of(client, uuid)}
    assert client.put(f"/resource_providers/{uuid}/traits", body).status == 200


@pytest.fixture
def shared_disk(service: PlacementService, client: Client) -> None:
    """cn1 (x86_64), cn2 (aarch64): VCPU and MEMORY_MB, in AGG; ss: 1000 DISK_GB shared
    via AGG (trait CUSTOM_FAST); cn3: VCPU and 200 DISK_GB of its own, in no aggregate."""
    compute = {"VCPU": Inventory(total=8), "MEMORY_MB": Inventory(total=4096)}
    for name, uuid, arch in (("cn1", CN1, "HW_ARCH_X86_64"), ("cn2", CN2, "HW_ARCH_AARCH64")):
        service.create_provider(name, uuid=uuid)
        service.set_inventories(uuid, 0, compute)
        _traits(client, uuid, arch)
        _aggregates(client, uuid, AGG)
    service.create_provider("cn3", uuid=CN3)
    service.set_inventories(CN3, 0, {"VCPU": Inventory(total=8), "DISK_GB": Inventory(total=200)})
    service.ensure_trait("CUSTOM_FAST")
    service.create_provider("ss", uuid=SS)
    service.set_inventories(SS, 0, {"DISK_GB": Inventory(total=1000)})
    _traits(client, SS, "MISC_SHARES_VIA_AGGREGATE", "CUSTOM_FAST")
    _aggregates(client, SS, AGG)


def _allocations(reply: Any) -> list[dict[str, dict[str, int]]]:
    return [
        {rp: a["resources"] for rp, a in r["allocations"].items()}
        for r in reply.json["allocation_requests"]
    ]


def _sorted(found: list[dict[str, dict[str, int]]]) -> list[dict[str, dict[str, int]]]:
    return sorted(found, key=lambda a: sorted(a.items()))


def test_candidates_combine_a_compute_node_and_the_shared_pool(
    client: Client, shared_disk: None
) -> None:
    reply = client.get(f"{AC}?resources=VCPU:1,DISK_GB:100")
    assert reply.status == 200
    assert _sorted(_allocations(reply)) == _sorted(
        [
            {CN1: {"VCPU": 1}, SS: {"DISK_GB": 100}},
            {CN2: {"VCPU": 1}, SS: {"DISK_GB": 100}},
            {CN3: {"VCPU": 1, "DISK_GB": 100}},
        ]
    )
    mappings = [r["mappings"] for r in reply.json["allocation_requests"]]
    assert {"": sorted([CN1, SS])} in [{k: sorted(v) for k, v in m.items()} for m in mappings]
    summaries = reply.json["provider_summaries"]
    assert set(summaries) == {CN1, CN2, CN3, SS}
    assert summaries[SS]["traits"] == ["CUSTOM_FAST", "MISC_SHARES_VIA_AGGREGATE"]
    assert summaries[SS]["resources"] == {"DISK_GB": {"capacity": 1000, "used": 0}}


def test_a_request_of_shared_classes_only_lists_the_pool_once(
    client: Client, shared_disk: None
) -> None:
    reply = client.get(f"{AC}?resources=DISK_GB:300")
    assert _allocations(reply) == [{SS: {"DISK_GB": 300}}]
    assert set(reply.json["provider_summaries"]) == {SS}


def test_an_aggregate_without_the_trait_shares_nothing(client: Client, shared_disk: None) -> None:
    _traits(client, SS, "CUSTOM_FAST")
    reply = client.get(f"{AC}?resources=VCPU:1,DISK_GB:100")
    assert _allocations(reply) == [{CN3: {"VCPU": 1, "DISK_GB": 100}}]


def test_allocations_span_the_pool_and_usages_follow(
    client: Client, service: PlacementService, shared_disk: None
) -> None:
    body = {
        "allocations": {CN1: {"resources": {"VCPU": 2}}, SS: {"resources": {"DISK_GB": 900}}},
        "project_id": PROJECT,
        "user_id": USER,
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }
    assert client.put(f"/allocations/{CONSUMER}", body).status == 204
    assert client.get(f"/resource_providers/{SS}/usages").json["usages"] == {"DISK_GB": 900}
    assert client.get(f"/resource_providers/{CN1}/usages").json["usages"] == {
        "VCPU": 2,
        "MEMORY_MB": 0,
    }
    usages = client.get(f"/usages?project_id={PROJECT}").json["usages"]
    assert usages["INSTANCE"] == {"VCPU": 2, "DISK_GB": 900, "consumer_count": 1}
    # The pool now has 100 left: a 200 GB disk only fits on cn3.
    reply = client.get(f"{AC}?resources=VCPU:1,DISK_GB:200")
    assert _allocations(reply) == [{CN3: {"VCPU": 1, "DISK_GB": 200}}]
    fits = client.get(f"{AC}?resources=VCPU:1,DISK_GB:100")
    assert fits.json["provider_summaries"][SS]["resources"]["DISK_GB"]["used"] == 900
    # Over capacity of the pool: 409, nothing written.
    body["allocations"] = {CN2: {"resources": {"VCPU": 1}}, SS: {"resources": {"DISK_GB": 101}}}
    over = client.put(f"/allocations/{CONSUMER2}", body)
    assert over.status == 409
    assert client.get(f"/allocations/{CONSUMER2}").json["allocations"] == {}
    assert client.delete(f"/allocations/{CONSUMER}").status == 204
    assert client.get(f"/resource_providers/{SS}/usages").json["usages"] == {"DISK_GB": 0}


def test_granular_groups_and_group_policy(client: Client, shared_disk: None) -> None:
    reply = client.get(
        f"{AC}?resources_CPU=VCPU:1&resources_DISK=DISK_GB:10&required_DISK=CUSTOM_FAST"
        "&group_policy=isolate"
    )
    assert _sorted(_allocations(reply)) == _sorted(
        [{CN1: {"VCPU": 1}, SS: {"DISK_GB": 10}}, {CN2: {"VCPU": 1}, SS: {"DISK_GB": 10}}]
    )
    assert {"_CPU": [CN1], "_DISK": [SS]} in [
        r["mappings"] for r in reply.json["allocation_requests"]
    ]
    two_disks = f"{AC}?resources_A=DISK_GB:10&resources_B=DISK_GB:10&group_policy="
    assert _allocations(client.get(two_disks + "isolate")) == []
    assert _sorted(_allocations(client.get(two_disks + "none"))) == _sorted(
        [{SS: {"DISK_GB": 20}}, {CN3: {"DISK_GB": 20}}]
    )


def test_required_traits_of_the_unsuffixed_group_count_the_pool(
    client: Client, shared_disk: None
) -> None:
    reply = client.get(f"{AC}?resources=VCPU:1,DISK_GB:10&required=CUSTOM_FAST,HW_ARCH_X86_64")
    assert _allocations(reply) == [{CN1: {"VCPU": 1}, SS: {"DISK_GB": 10}}]
    forbidden = client.get(f"{AC}?resources=VCPU:1,DISK_GB:10&required=!CUSTOM_FAST")
    assert _allocations(forbidden) == [{CN3: {"VCPU": 1, "DISK_GB": 10}}]


def test_root_required_applies_to_the_anchor(client: Client, shared_disk: None) -> None:
    reply = client.get(f"{AC}?resources=VCPU:1,DISK_GB:10&root_required=HW_ARCH_AARCH64")
    assert _allocations(reply) == [{CN2: {"VCPU": 1}, SS: {"DISK_GB": 10}}]


def test_member_of_counts_the_pools_own_aggregates(client: Client, shared_disk: None) -> None:
    reply = client.get(f"{AC}?resources=VCPU:1,DISK_GB:10&member_of={AGG}")
    assert _sorted(_allocations(reply)) == _sorted(
        [{CN1: {"VCPU": 1}, SS: {"DISK_GB": 10}}, {CN2: {"VCPU": 1}, SS: {"DISK_GB": 10}}]
    )
    _aggregates(client, CN1, AGG, OTHER_AGG)
    other = client.get(f"{AC}?resources=VCPU:1,DISK_GB:10&member_of={OTHER_AGG}")
    assert _allocations(other) == []
    away = client.get(f"{AC}?resources=VCPU:1,DISK_GB:10&member_of=!{OTHER_AGG}")
    assert _sorted(_allocations(away)) == _sorted(
        [{CN2: {"VCPU": 1}, SS: {"DISK_GB": 10}}, {CN3: {"VCPU": 1, "DISK_GB": 10}}]
    )


def test_in_tree_keeps_the_pool_out_of_the_unsuffixed_group(
    client: Client, shared_disk: None
) -> None:
    assert _allocations(client.get(f"{AC}?resources=VCPU:1,DISK_GB:10&in_tree={CN1}")) == []
    reply = client.get(
        f"{AC}?resources_CPU=VCPU:1&in_tree_CPU={CN1}&resources_DISK=DISK_GB:10&group_policy=none"
    )
    assert _allocations(reply) == [{CN1: {"VCPU": 1}, SS: {"DISK_GB": 10}}]
    pool = client.get(
        f"{AC}?resources_CPU=VCPU:1&resources_DISK=DISK_GB:10&in_tree_DISK={SS}&group_policy=none"
    )
    assert _sorted(_allocations(pool)) == _sorted(
        [{CN1: {"VCPU": 1}, SS: {"DISK_GB": 10}}, {CN2: {"VCPU": 1}, SS: {"DISK_GB": 10}}]
    )


def test_same_subtree_never_joins_the_pool_to_a_tree(client: Client, shared_disk: None) -> None:
    reply = client.get(
        f"{AC}?resources_CPU=VCPU:1&resources_DISK=DISK_GB:10&same_subtree=_CPU,_DISK"
        "&group_policy=none"
    )
    assert _allocations(reply) == [{CN3: {"VCPU": 1, "DISK_GB": 10}}]


def test_limit_and_old_microversions(client: Client, shared_disk: None) -> None:
    limited = client.get(f"{AC}?resources=VCPU:1,DISK_GB:10&limit=2")
    assert len(limited.json["allocation_requests"]) == 2
    used = {rp for r in limited.json["allocation_requests"] for rp in r["allocations"]}
    assert set(limited.json["provider_summaries"]) == used
    old = client.get(f"{AC}?resources=VCPU:1,DISK_GB:10", version="1.12")
    assert _sorted(_allocations(old)) == _sorted(
        [
            {CN1: {"VCPU": 1}, SS: {"DISK_GB": 10}},
            {CN2: {"VCPU": 1}, SS: {"DISK_GB": 10}},
            {CN3: {"VCPU": 1, "DISK_GB": 10}},
        ]
    )


def test_without_sharing_providers_the_index_is_never_built(
    client: Client, service: PlacementService, shared_disk: None
) -> None:
    _traits(client, SS, "CUSTOM_FAST")
    client.get(f"{AC}?resources=VCPU:1,DISK_GB:10")
    snapshot = service.snapshot()
    assert snapshot.sharing_roots == frozenset()
    assert snapshot.anchored(snapshot.tree_of_uuid[CN1]) == ()
    assert snapshot._anchors is None  # nothing shares: never computed


def test_joining_and_leaving_the_aggregate_changes_the_anchors(
    client: Client, shared_disk: None
) -> None:
    path = f"{AC}?resources=VCPU:1,DISK_GB:10&required=CUSTOM_FAST"
    assert len(_allocations(client.get(path))) == 2  # the index is built here
    _aggregates(client, CN3, AGG)
    assert {CN1, CN2, CN3} <= {rp for a in _allocations(client.get(path)) for rp in a}
    _aggregates(client, CN1)
    _aggregates(client, CN2)
    assert _allocations(client.get(path)) == [{CN3: {"VCPU": 1}, SS: {"DISK_GB": 10}}]
