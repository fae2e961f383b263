"""/traits and /resource_providers/{uuid}/traits."""

from __future__ import annotations

from .conftest import CN1, CN2, Client, Topology, generation_of

TRAITS = f"/resource_providers/{CN1}/traits"


def test_list_standard_and_filtered(client: Client, two_computes: Topology) -> None:
    everything = client.get("/traits").json["traits"]
    assert "HW_ARCH_X86_64" in everything
    assert "COMPUTE_ARCH_AARCH64" in everything
    arch = client.get("/traits?name=startswith:HW_ARCH_").json["traits"]
    assert arch and all(t.startswith("HW_ARCH_") for t in arch)
    picked = client.get("/traits?name=in:HW_ARCH_X86_64,HW_ARCH_PPC").json["traits"]
    assert picked == ["HW_ARCH_PPC", "HW_ARCH_X86_64"]
    used = client.get("/traits?associated=true").json["traits"]
    assert used == ["HW_ARCH_AARCH64", "HW_ARCH_X86_64"]
    assert "HW_ARCH_X86_64" not in client.get("/traits?associated=false").json["traits"]


def test_list_bad_filters_are_400(client: Client) -> None:
    for query in ("name=HW_ARCH", "associated=maybe", "colour=red"):
        assert client.get(f"/traits?{query}").status == 400, query


def test_create_show_delete_custom_trait(client: Client) -> None:
    assert client.get("/traits/CUSTOM_GOLD").status == 404
    created = client.put("/traits/CUSTOM_GOLD")
    assert created.status == 201
    assert created.headers["Location"].endswith("/placement/traits/CUSTOM_GOLD")
    assert client.put("/traits/CUSTOM_GOLD").status == 204
    assert client.get("/traits/CUSTOM_GOLD").status == 204
    assert client.delete("/traits/CUSTOM_GOLD").status == 204
    assert client.delete("/traits/CUSTOM_GOLD").status == 404


def test_only_custom_traits_may_be_created_or_deleted(client: Client) -> None:
    assert client.put("/traits/GOLD").status == 400
    assert client.put("/traits/CUSTOM_lower").status == 400
    assert client.delete("/traits/HW_ARCH_X86_64").status == 400


def test_trait_in_use_cannot_be_deleted(client: Client, one_compute: Topology) -> None:
    client.put("/traits/CUSTOM_GOLD")
    body = {"traits": ["CUSTOM_GOLD"], "resource_provider_generation": generation_of(client, CN1)}
    assert client.put(TRAITS, body).status == 200
    assert client.delete("/traits/CUSTOM_GOLD").status == 409


def test_provider_traits_round_trip(client: Client, one_compute: Topology) -> None:
    reply = client.get(TRAITS)
    assert reply.json == {
        "traits": ["HW_ARCH_X86_64"],
        "resource_provider_generation": generation_of(client, CN1),
    }
    generation = reply.json["resource_provider_generation"]
    body = {
        "traits": ["HW_ARCH_X86_64", "HW_CPU_X86_AVX2"],
        "resource_provider_generation": generation,
    }
    replaced = client.put(TRAITS, body)
    assert replaced.status == 200
    assert replaced.json["traits"] == ["HW_ARCH_X86_64", "HW_CPU_X86_AVX2"]
    assert replaced.json["resource_provider_generation"] == generation + 1
    assert client.delete(TRAITS).status == 204
    assert client.get(TRAITS).json["traits"] == []


def test_provider_traits_stale_generation_is_409(client: Client, one_compute: Topology) -> None:
    reply = client.put(TRAITS, {"traits": [], "resource_provider_generation": 99})
    assert reply.status == 409
    assert reply.error["code"] == "placement.concurrent_update"


def test_provider_traits_unknown_trait_or_bad_body_is_400(
    client: Client, one_compute: Topology
) -> None:
    generation = generation_of(client, CN1)
    reply = client.put(
        TRAITS, {"traits": ["CUSTOM_NOPE"], "resource_provider_generation": generation}
    )
    assert reply.status == 400
    assert "CUSTOM_NOPE" in reply.error["detail"]
    assert (
        client.put(
            TRAITS, {"traits": ["A", "A"], "resource_provider_generation": generation}
        ).status
        == 400
    )
    assert client.put(TRAITS, {"traits": []}).status == 400


def test_provider_traits_need_1_6_and_a_provider(client: Client, two_computes: Topology) -> None:
    assert client.get(TRAITS, version="1.5").status == 404
    missing = "/resource_providers/d0000000-0000-4000-8000-00000000000d/traits"
    assert client.get(missing).status == 404
    assert client.get(f"/resource_providers/{CN2}/traits").json["traits"] == ["HW_ARCH_AARCH64"]
