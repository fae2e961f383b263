"""/resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

from virtfleet.placement.service import PlacementService

from .conftest import CN1, Client, Topology, allocate, generation_of

INV = f"/resource_providers/{CN1}/inventories"
MAX_INT = 2147483647


def test_list_shows_every_field_and_the_generation(client: Client, one_compute: Topology) -> None:
    reply = client.get(INV)
    assert reply.status == 200
    body = reply.json
    assert body["resource_provider_generation"] == generation_of(client, CN1)
    assert body["inventories"]["MEMORY_MB"] == {
        "total": 4096,
        "reserved": 512,
        "min_unit": 1,
        "max_unit": 4096,
        "step_size": 1,
        "allocation_ratio": 1.0,
    }
    assert set(body["inventories"]) == {"VCPU", "MEMORY_MB"}


def test_replace_all_fills_defaults_and_bumps_generation(
    client: Client, one_compute: Topology
) -> None:
    generation = generation_of(client, CN1)
    body = {
        "resource_provider_generation": generation,
        "inventories": {"VCPU": {"total": 16, "allocation_ratio": 4.0}, "DISK_GB": {"total": 100}},
    }
    reply = client.put(INV, body)
    assert reply.status == 200
    assert reply.json["resource_provider_generation"] == generation + 1
    assert set(reply.json["inventories"]) == {"VCPU", "DISK_GB"}
    assert reply.json["inventories"]["VCPU"]["allocation_ratio"] == 4.0
    assert reply.json["inventories"]["DISK_GB"]["max_unit"] == MAX_INT
    assert reply.json["inventories"]["DISK_GB"]["reserved"] == 0


def test_replace_all_with_stale_generation_is_409(client: Client, one_compute: Topology) -> None:
    body = {"resource_provider_generation": 99, "inventories": {"VCPU": {"total": 1}}}
    reply = client.put(INV, body)
    assert reply.status == 409
    assert reply.error["code"] == "placement.concurrent_update"


def test_replace_all_schema_errors(client: Client, one_compute: Topology) -> None:
    generation = generation_of(client, CN1)
    bad = [
        {"inventories": {"VCPU": {"total": 1}}},
        {"resource_provider_generation": generation, "inventories": {"VCPU": {}}},
        {"resource_provider_generation": generation, "inventories": {"VCPU": {"total": 0}}},
        {"resource_provider_generation": generation, "inventories": {"vcpu": {"total": 1}}},
        {"resource_provider_generation": generation, "inventories": {"VCPU": {"total": "8"}}},
        {"resource_provider_generation": generation, "inventories": {"VCPU": {"total": 1, "x": 1}}},
        {
            "resource_provider_generation": generation,
            "inventories": {"VCPU": {"total": MAX_INT + 1}},
        },
    ]
    for body in bad:
        reply = client.put(INV, body)
        assert reply.status == 400, body
        assert "JSON does not validate" in reply.error["detail"]


def test_unknown_resource_class_is_400(client: Client, one_compute: Topology) -> None:
    body = {
        "resource_provider_generation": generation_of(client, CN1),
        "inventories": {"CUSTOM_UNKNOWN": {"total": 1}},
    }
    reply = client.put(INV, body)
    assert reply.status == 400
    assert "CUSTOM_UNKNOWN" in reply.error["detail"]


def test_reserved_equal_to_total_needs_1_26(client: Client, one_compute: Topology) -> None:
    def put(version: str, reserved: int) -> int:
        body = {
            "resource_provider_generation": generation_of(client, CN1),
            "inventories": {"VCPU": {"total": 8, "reserved": reserved}},
        }
        return client.put(INV, body, version=version).status

    assert put("1.25", 8) == 400
    assert put("1.26", 8) == 200
    assert put("1.26", 9) == 400


def test_replace_all_removing_used_class_is_409(
    client: Client, service: PlacementService, one_compute: Topology
) -> None:
    allocate(service, "a0000000-0000-4000-8000-000000000001", CN1, MEMORY_MB=256)
    body = {
        "resource_provider_generation": generation_of(client, CN1),
        "inventories": {"VCPU": {"total": 8}},
    }
    reply = client.put(INV, body)
    assert reply.status == 409
    assert reply.error["code"] == "placement.inventory.inuse"


def test_post_adds_one_class(client: Client, one_compute: Topology) -> None:
    generation = generation_of(client, CN1)
    body = {"resource_class": "DISK_GB", "total": 50, "resource_provider_generation": generation}
    reply = client.post(INV, body)
    assert reply.status == 201
    assert reply.headers["Location"].endswith(f"/placement{INV}/DISK_GB")
    assert reply.json["total"] == 50
    assert reply.json["resource_provider_generation"] == generation + 1
    again = client.post(INV, {**body, "resource_provider_generation": generation + 1})
    assert again.status == 409


def test_show_one(client: Client, one_compute: Topology) -> None:
    reply = client.get(f"{INV}/VCPU")
    assert reply.status == 200
    assert reply.json["total"] == 8
    assert reply.json["resource_provider_generation"] == generation_of(client, CN1)
    assert client.get(f"{INV}/DISK_GB").status == 404


def test_update_one(client: Client, one_compute: Topology) -> None:
    generation = generation_of(client, CN1)
    reply = client.put(f"{INV}/VCPU", {"total": 32, "resource_provider_generation": generation})
    assert reply.status == 200
    assert reply.json["total"] == 32
    stale = client.put(f"{INV}/VCPU", {"total": 4, "resource_provider_generation": generation})
    assert stale.status == 409
    assert stale.error["code"] == "placement.concurrent_update"
    missing = client.put(
        f"{INV}/DISK_GB", {"total": 4, "resource_provider_generation": generation + 1}
    )
    assert missing.status == 400
    assert client.put(f"{INV}/VCPU", {"total": 4}).status == 400


def test_delete_one(client: Client, one_compute: Topology) -> None:
    assert client.delete(f"{INV}/VCPU").status == 204
    assert set(client.get(INV).json["inventories"]) == {"MEMORY_MB"}
    assert client.delete(f"{INV}/VCPU").status == 404


def test_delete_one_in_use_is_409(
    client: Client, service: PlacementService, one_compute: Topology
) -> None:
    allocate(service, "a0000000-0000-4000-8000-000000000001", CN1, VCPU=2)
    reply = client.delete(f"{INV}/VCPU")
    assert reply.status == 409
    assert reply.error["code"] == "placement.inventory.inuse"


def test_delete_all_from_1_5(client: Client, one_compute: Topology) -> None:
    assert client.delete(INV, version="1.4").status == 405  # as upstream
    assert client.delete(INV, version="1.5").status == 204
    assert client.get(INV).json["inventories"] == {}


def test_inventories_of_unknown_provider_is_404(client: Client) -> None:
    assert (
        client.get("/resource_providers/d0000000-0000-4000-8000-00000000000d/inventories").status
        == 404
    )
