"""/allocations/{consumer_uuid}, POST /allocations, .../allocations of a provider."""

from __future__ import annotations

from typing import Any

from virtfleet.placement.service import PlacementService

from .conftest import (
    CN1,
    CN2,
    CONSUMER,
    CONSUMER2,
    PROJECT,
    USER,
    Client,
    Topology,
    allocate,
    generation_of,
)

ALLOC = f"/allocations/{CONSUMER}"


def put_1_38(resources: dict[str, dict[str, int]], generation: int | None) -> dict[str, Any]:
    return {
        "allocations": {rp: {"resources": r} for rp, r in resources.items()},
        "project_id": PROJECT,
        "user_id": USER,
        "consumer_generation": generation,
        "consumer_type": "INSTANCE",
    }


# ----------------------------------------------------------------------------- GET


def test_get_without_allocations_is_empty(client: Client) -> None:
    reply = client.get(ALLOC)
    assert reply.status == 200
    assert reply.json == {"allocations": {}}


def test_get_shape_by_version(
    client: Client, service: PlacementService, one_compute: Topology
) -> None:
    allocate(service, CONSUMER, CN1, VCPU=2, MEMORY_MB=512)
    old = client.get(ALLOC, version="1.11").json
    assert old == {
        "allocations": {
            CN1: {
                "generation": generation_of(client, CN1),
                "resources": {"VCPU": 2, "MEMORY_MB": 512},
            }
        }
    }
    v12 = client.get(ALLOC, version="1.12").json
    assert (v12["project_id"], v12["user_id"]) == (PROJECT, USER)
    assert "consumer_generation" not in v12
    v28 = client.get(ALLOC, version="1.28").json
    assert isinstance(v28["consumer_generation"], int)
    assert "consumer_type" not in v28
    assert "consumer_type" in client.get(ALLOC, version="1.38").json


# ----------------------------------------------------------------------------- PUT


def test_put_1_0_list_form(client: Client, one_compute: Topology) -> None:
    body = {"allocations": [{"resource_provider": {"uuid": CN1}, "resources": {"VCPU": 1}}]}
    assert client.put(ALLOC, body, version="1.0").status == 204
    assert client.get(ALLOC).json["allocations"][CN1]["resources"] == {"VCPU": 1}
    assert client.put(ALLOC, body, version="1.8").status == 400  # needs project/user


def test_put_1_12_dict_form_replaces(client: Client, two_computes: Topology) -> None:
    body: dict[str, Any] = {
        "allocations": {CN1: {"resources": {"VCPU": 1}}},
        "project_id": PROJECT,
        "user_id": USER,
    }
    assert client.put(ALLOC, body, version="1.12").status == 204
    body["allocations"] = {CN2: {"resources": {"VCPU": 2}}}
    assert client.put(ALLOC, body, version="1.12").status == 204
    assert set(client.get(ALLOC).json["allocations"]) == {CN2}
    body["allocations"] = {}
    assert client.put(ALLOC, body, version="1.12").status == 400  # empty only from 1.28


def test_put_1_28_consumer_generation(client: Client, one_compute: Topology) -> None:
    body = put_1_38({CN1: {"VCPU": 1}}, None)
    del body["consumer_type"]
    assert client.put(ALLOC, body, version="1.28").status == 204
    again = client.put(ALLOC, body, version="1.28")  # claims the consumer is new
    assert again.status == 409
    assert again.error["code"] == "placement.concurrent_update"
    current = client.get(ALLOC, version="1.28").json["consumer_generation"]
    body["consumer_generation"] = current
    body["allocations"] = {}
    assert client.put(ALLOC, body, version="1.28").status == 204
    assert client.get(ALLOC).json == {"allocations": {}}
    missing = {k: v for k, v in body.items() if k != "consumer_generation"}
    assert client.put(ALLOC, missing, version="1.28").status == 400


def test_put_1_38_consumer_type(client: Client, one_compute: Topology) -> None:
    body = put_1_38({CN1: {"VCPU": 1}}, None)
    assert client.put(ALLOC, body, version="1.38").status == 204
    assert client.get(ALLOC, version="1.38").json["consumer_type"] == "INSTANCE"
    untyped = {k: v for k, v in body.items() if k != "consumer_type"}
    assert client.put(ALLOC, untyped, version="1.38").status == 400


def test_put_class_without_inventory_is_409(client: Client, one_compute: Topology) -> None:
    """As the reference: 409 when the provider has no inventory of an existing class,
    400 when the class does not exist at all."""
    reply = client.put(ALLOC, put_1_38({CN1: {"DISK_GB": 1}}, None))
    assert reply.status == 409
    assert "DISK_GB" in reply.error["detail"]
    unknown = client.put(ALLOC, put_1_38({CN1: {"CUSTOM_NOPE": 1}}, None))
    assert unknown.status == 400
    assert "CUSTOM_NOPE" in unknown.error["detail"]
    assert client.get(ALLOC).json["allocations"] == {}


def test_put_over_capacity_is_409(client: Client, one_compute: Topology) -> None:
    reply = client.put(ALLOC, put_1_38({CN1: {"MEMORY_MB": 4000}}, None))  # 3584 free
    assert reply.status == 409
    assert "MEMORY_MB" in reply.error["detail"]


def test_put_beyond_max_unit_is_409(client: Client, one_compute: Topology) -> None:
    reply = client.put(ALLOC, put_1_38({CN1: {"VCPU": 9}}, None))  # max_unit 8
    assert reply.status == 409
    assert "constraints" in reply.error["detail"]
    assert "VCPU" in reply.error["detail"]


def test_put_unknown_provider_is_400(client: Client, one_compute: Topology) -> None:
    missing = "d0000000-0000-4000-8000-00000000000d"
    reply = client.put(ALLOC, put_1_38({missing: {"VCPU": 1}}, None))
    assert reply.status == 400
    assert missing in reply.error["detail"]


def test_put_schema_errors(client: Client, one_compute: Topology) -> None:
    bad = [
        put_1_38({CN1: {"VCPU": 0}}, None),
        put_1_38({CN1: {"vcpu": 1}}, None),
        put_1_38({"not-a-uuid": {"VCPU": 1}}, None),
        {**put_1_38({CN1: {"VCPU": 1}}, None), "extra": 1},
        {**put_1_38({CN1: {"VCPU": 1}}, None), "consumer_type": "lower"},
    ]
    for body in bad:
        reply = client.put(ALLOC, body)
        assert reply.status == 400, body
        assert "JSON does not validate" in reply.error["detail"]


# ---------------------------------------------------------------------------- POST


def test_post_many_moves_allocations_atomically(
    client: Client, service: PlacementService, two_computes: Topology
) -> None:
    allocate(service, CONSUMER, CN1, VCPU=2)
    generation = client.get(ALLOC, version="1.28").json["consumer_generation"]
    body = {
        CONSUMER: {**put_1_38({}, generation)},
        CONSUMER2: {**put_1_38({CN2: {"VCPU": 2}}, None), "mappings": {"": [CN2]}},
    }
    assert client.post("/allocations", body).status == 204
    assert client.get(ALLOC).json == {"allocations": {}}
    assert client.get(f"/allocations/{CONSUMER2}").json["allocations"][CN2]["resources"] == {
        "VCPU": 2
    }


def test_post_many_all_or_nothing(client: Client, two_computes: Topology) -> None:
    body = {
        CONSUMER: put_1_38({CN1: {"VCPU": 1}}, None),
        CONSUMER2: put_1_38({CN2: {"VCPU": 99}}, None),  # beyond max_unit
    }
    assert client.post("/allocations", body).status == 409
    assert client.get(ALLOC).json == {"allocations": {}}


def test_post_many_needs_1_13_and_valid_body(client: Client, one_compute: Topology) -> None:
    body = {CONSUMER: put_1_38({CN1: {"VCPU": 1}}, None)}
    assert client.post("/allocations", body, version="1.12").status == 404
    assert client.post("/allocations", {}).status == 400
    with_mappings = {CONSUMER: {**put_1_38({CN1: {"VCPU": 1}}, None), "mappings": {"": [CN1]}}}
    del with_mappings[CONSUMER]["consumer_type"]
    assert client.post("/allocations", with_mappings, version="1.33").status == 400
    assert client.post("/allocations", with_mappings, version="1.34").status == 204


# -------------------------------------------------------------------------- DELETE


def test_delete(client: Client, service: PlacementService, one_compute: Topology) -> None:
    allocate(service, CONSUMER, CN1, VCPU=1)
    assert client.delete(ALLOC).status == 204
    assert client.get(ALLOC).json == {"allocations": {}}
    reply = client.delete(ALLOC)
    assert reply.status == 404
    assert CONSUMER in reply.error["detail"]


# ---------------------------------------------------------------- provider's view


def test_provider_allocations(
    client: Client, service: PlacementService, one_compute: Topology
) -> None:
    allocate(service, CONSUMER, CN1, VCPU=1)
    allocate(service, CONSUMER2, CN1, MEMORY_MB=100)
    reply = client.get(f"/resource_providers/{CN1}/allocations")
    assert reply.json == {
        "allocations": {
            CONSUMER: {"resources": {"VCPU": 1}},
            CONSUMER2: {"resources": {"MEMORY_MB": 100}},
        },
        "resource_provider_generation": generation_of(client, CN1),
    }
    missing = "/resource_providers/d0000000-0000-4000-8000-00000000000d/allocations"
    assert client.get(missing).status == 404


def test_writes_before_1_38_keep_the_consumer_type(client: Client, one_compute: Topology) -> None:
    assert client.put(ALLOC, put_1_38({CN1: {"VCPU": 1}}, None)).status == 204
    generation = client.get(ALLOC).json["consumer_generation"]
    body = put_1_38({CN1: {"VCPU": 2}}, generation)
    del body["consumer_type"]
    assert client.put(ALLOC, body, version="1.37").status == 204
    assert client.get(ALLOC).json["consumer_type"] == "INSTANCE"


def test_writes_before_1_28_ignore_the_consumer_generation(
    client: Client, one_compute: Topology
) -> None:
    body: dict[str, Any] = {
        "allocations": {CN1: {"resources": {"VCPU": 1}}},
        "project_id": PROJECT,
        "user_id": USER,
    }
    assert client.put(ALLOC, body, version="1.27").status == 204
    body["allocations"] = {CN1: {"resources": {"VCPU": 3}}}
    assert client.put(ALLOC, body, version="1.27").status == 204
    assert client.get(ALLOC).json["allocations"][CN1]["resources"] == {"VCPU": 3}


def test_put_takes_mappings_from_1_34(client: Client, one_compute: Topology) -> None:
    """``mappings`` (as candidates give them) are accepted back from 1.34; as in the
    reference they are not stored (GET /allocations never shows them)."""
    body = put_1_38({CN1: {"VCPU": 1}}, None)
    body["mappings"] = {"": [CN1]}
    assert client.put(ALLOC, body, version="1.33").status == 400
    body_1_34 = {k: v for k, v in body.items() if k != "consumer_type"}
    assert client.put(ALLOC, body_1_34, version="1.34").status == 204
    shown = client.get(ALLOC).json
    assert "mappings" not in shown
    assert shown["allocations"][CN1]["resources"] == {"VCPU": 1}
    body["consumer_generation"] = shown["consumer_generation"]
    body["mappings"] = {"_X": ["not-a-uuid"]}
    assert client.put(ALLOC, body).status == 400
