"""/resource_providers/{uuid}/aggregates."""

from __future__ import annotations

from .conftest import CN1, Client, Topology, generation_of

AGGS = f"/resource_providers/{CN1}/aggregates"
AGG_A = "ad000000-0000-4000-8000-00000000000a"
AGG_B = "ad000000-0000-4000-8000-00000000000b"


def test_aggregates_need_1_1(client: Client, one_compute: Topology) -> None:
    assert client.get(AGGS, version="1.0").status == 404
    assert client.get(AGGS, version="1.1").json == {"aggregates": []}


def test_before_1_19_a_bare_list_without_generation(client: Client, one_compute: Topology) -> None:
    reply = client.put(AGGS, [AGG_B, AGG_A], version="1.18")
    assert reply.status == 200
    assert reply.json == {"aggregates": [AGG_A, AGG_B]}
    assert client.put(AGGS, {"aggregates": [AGG_A]}, version="1.18").status == 400


def test_from_1_19_an_object_checked_against_the_generation(
    client: Client, one_compute: Topology
) -> None:
    generation = generation_of(client, CN1)
    body = {"aggregates": [AGG_A], "resource_provider_generation": generation}
    reply = client.put(AGGS, body, version="1.19")
    assert reply.status == 200
    assert reply.json == {"aggregates": [AGG_A], "resource_provider_generation": generation + 1}
    stale = client.put(AGGS, body, version="1.19")
    assert stale.status == 409
    assert "code" not in stale.error  # codes start at 1.23
    assert client.put(AGGS, body).error["code"] == "placement.concurrent_update"
    assert client.put(AGGS, [AGG_A], version="1.19").status == 400
    shown = client.get(AGGS, version="1.19").json
    assert shown["resource_provider_generation"] == generation + 1


def test_bad_aggregate_uuids_are_400(client: Client, one_compute: Topology) -> None:
    generation = generation_of(client, CN1)
    for aggregates in (["not-a-uuid"], [AGG_A, AGG_A]):
        body = {"aggregates": aggregates, "resource_provider_generation": generation}
        assert client.put(AGGS, body).status == 400, aggregates


def test_unknown_provider_is_404(client: Client) -> None:
    missing = "/resource_providers/d0000000-0000-4000-8000-00000000000d/aggregates"
    assert client.get(missing).status == 404
