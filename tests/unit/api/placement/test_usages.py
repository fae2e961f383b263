"""/resource_providers/{uuid}/usages and /usages."""

from __future__ import annotations

from virtfleet.placement.service import PlacementService

from .conftest import CN1, CN2, CONSUMER, CONSUMER2, PROJECT, USER, Client, Topology, allocate


def test_provider_usages(client: Client, service: PlacementService, one_compute: Topology) -> None:
    assert client.get(f"/resource_providers/{CN1}/usages").json["usages"] == {
        "MEMORY_MB": 0,
        "VCPU": 0,
    }
    allocate(service, CONSUMER, CN1, VCPU=3)
    reply = client.get(f"/resource_providers/{CN1}/usages")
    assert reply.json["usages"] == {"MEMORY_MB": 0, "VCPU": 3}
    assert isinstance(reply.json["resource_provider_generation"], int)
    assert (
        client.get("/resource_providers/d0000000-0000-4000-8000-00000000000d/usages").status == 404
    )


def test_project_usages_from_1_9(
    client: Client, service: PlacementService, two_computes: Topology
) -> None:
    allocate(service, CONSUMER, CN1, VCPU=2)
    allocate(service, CONSUMER2, CN2, VCPU=1, MEMORY_MB=128)
    path = f"/usages?project_id={PROJECT}"
    assert client.get(path, version="1.8").status == 404
    assert client.get(path, version="1.9").json == {"usages": {"MEMORY_MB": 128, "VCPU": 3}}
    assert client.get(f"{path}&user_id={USER}", version="1.9").json["usages"]["VCPU"] == 3
    assert client.get(f"{path}&user_id=other", version="1.9").json == {"usages": {}}
    assert client.get("/usages?project_id=nobody", version="1.9").json == {"usages": {}}


def test_project_usages_by_consumer_type_from_1_38(
    client: Client, service: PlacementService, one_compute: Topology
) -> None:
    service.replace_allocations(CONSUMER, {CN1: {"VCPU": 2}}, PROJECT, USER, None, "INSTANCE")
    service.replace_allocations(CONSUMER2, {CN1: {"VCPU": 1}}, PROJECT, USER, None, "MIGRATION")
    usages = client.get(f"/usages?project_id={PROJECT}", version="1.38").json["usages"]
    assert usages["INSTANCE"] == {"consumer_count": 1, "VCPU": 2}
    assert usages["MIGRATION"] == {"consumer_count": 1, "VCPU": 1}
    only = client.get(f"/usages?project_id={PROJECT}&consumer_type=INSTANCE", version="1.38")
    assert set(only.json["usages"]) == {"INSTANCE"}
    assert client.get(f"/usages?project_id={PROJECT}&consumer_type=X", version="1.37").status == 400


def test_project_usages_needs_project_id(client: Client) -> None:
    reply = client.get("/usages")
    assert reply.status == 400
    assert "project_id" in reply.error["detail"]
    assert client.get("/usages?project_id=p&colour=red").status == 400
