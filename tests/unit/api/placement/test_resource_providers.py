"""/resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

from virtfleet.placement.service import PlacementService

from .conftest import CN1, CN2, GPU1, Client, Topology, allocate

NEW = "d0000000-0000-4000-8000-00000000000d"


# ------------------------------------------------------------------------- create


def test_create_before_1_20_is_201_with_location_and_no_body(client: Client) -> None:
    reply = client.post("/resource_providers", {"name": "cn9", "uuid": NEW}, version="1.19")
    assert reply.status == 201
    assert reply.headers["Location"].endswith(f"/placement/resource_providers/{NEW}")
    assert reply.text == ""


def test_create_from_1_20_returns_the_provider(client: Client) -> None:
    reply = client.post("/resource_providers", {"name": "cn9"}, version="1.20")
    assert reply.status == 200
    rp = reply.json
    assert rp["name"] == "cn9"
    assert rp["generation"] == 0
    assert rp["root_provider_uuid"] == rp["uuid"]
    assert rp["parent_provider_uuid"] is None
    assert reply.headers["Location"].endswith(rp["uuid"])


def test_create_child_from_1_14(client: Client, one_compute: Topology) -> None:
    body = {"name": "child", "uuid": NEW, "parent_provider_uuid": CN1}
    assert client.post("/resource_providers", body, version="1.13").status == 400
    reply = client.post("/resource_providers", body, version="1.20")
    assert reply.status == 200
    assert reply.json["parent_provider_uuid"] == CN1
    assert reply.json["root_provider_uuid"] == CN1


def test_create_with_unknown_parent_is_400(client: Client) -> None:
    body = {"name": "orphan", "parent_provider_uuid": NEW}
    reply = client.post("/resource_providers", body)
    assert reply.status == 400
    assert NEW in reply.error["detail"]


def test_create_duplicate_name_or_uuid_is_409(client: Client, one_compute: Topology) -> None:
    reply = client.post("/resource_providers", {"name": "cn1"})
    assert reply.status == 409
    assert reply.error["code"] == "placement.duplicate_name"
    reply = client.post("/resource_providers", {"name": "other", "uuid": CN1})
    assert reply.status == 409
    assert reply.error["code"] == "placement.duplicate_name"


def test_create_body_schema(client: Client) -> None:
    for body in (
        {},
        {"name": ""},
        {"name": "x" * 201},
        {"name": "a", "uuid": "nope"},
        {"name": "a", "colour": "red"},
        {"name": 5},
    ):
        reply = client.post("/resource_providers", body)
        assert reply.status == 400, body
        assert reply.error["detail"].startswith("JSON does not validate")


# ---------------------------------------------------------------------------- show


def test_show_links_grow_with_the_version(client: Client, one_compute: Topology) -> None:
    def rels(version: str) -> list[str]:
        reply = client.get(f"/resource_providers/{CN1}", version=version)
        return [link["rel"] for link in reply.json["links"]]

    assert rels("1.0") == ["self", "inventories", "usages"]
    assert rels("1.1") == ["self", "inventories", "usages", "aggregates"]
    assert rels("1.6") == ["self", "inventories", "usages", "aggregates", "traits"]
    assert rels("1.11")[-1] == "allocations"
    links = client.get(f"/resource_providers/{CN1}").json["links"]
    assert {"rel": "self", "href": f"/placement/resource_providers/{CN1}"} in links


def test_show_tree_uuids_from_1_14(client: Client, gpu_host: Topology) -> None:
    old = client.get(f"/resource_providers/{GPU1}", version="1.13").json
    assert "parent_provider_uuid" not in old
    new = client.get(f"/resource_providers/{GPU1}", version="1.14").json
    assert new["parent_provider_uuid"] == CN1
    assert new["root_provider_uuid"] == CN1


def test_show_unknown_is_404(client: Client) -> None:
    reply = client.get(f"/resource_providers/{NEW}")
    assert reply.status == 404
    assert NEW in reply.error["detail"]


# ---------------------------------------------------------------------------- list


def _names(reply_json: dict[str, list[dict[str, str]]]) -> list[str]:
    return sorted(rp["name"] for rp in reply_json["resource_providers"])


def test_list_filters_by_name_and_uuid(client: Client, two_computes: Topology) -> None:
    assert _names(client.get("/resource_providers").json) == ["cn1", "cn2"]
    assert _names(client.get("/resource_providers?name=cn2").json) == ["cn2"]
    assert _names(client.get(f"/resource_providers?uuid={CN1}").json) == ["cn1"]
    assert _names(client.get("/resource_providers?name=none").json) == []


def test_list_filters_by_resources_from_1_4(client: Client, two_computes: Topology) -> None:
    path = "/resource_providers?resources=VCPU:6"
    assert client.get(path, version="1.3").status == 400
    assert _names(client.get(path, version="1.4").json) == ["cn1"]
    allocate_json = client.get("/resource_providers?resources=VCPU:1,MEMORY_MB:2048").json
    assert _names(allocate_json) == ["cn1", "cn2"]


def test_list_resources_counts_usage(
    client: Client, service: PlacementService, two_computes: Topology
) -> None:
    allocate(service, "a0000000-0000-4000-8000-000000000099", CN1, VCPU=6)
    assert _names(client.get("/resource_providers?resources=VCPU:4").json) == ["cn2"]


def test_list_bad_resources_is_400(client: Client, two_computes: Topology) -> None:
    for value in ("VCPU", "VCPU:x", "VCPU:0", "VCPU:1,VCPU:2", ":1"):
        reply = client.get(f"/resource_providers?resources={value}")
        assert reply.status == 400, value
        assert reply.error["code"] == "placement.query.bad_value"
    reply = client.get("/resource_providers?resources=CUSTOM_NOPE:1")
    assert reply.status == 400
    assert "CUSTOM_NOPE" in reply.error["detail"]


def test_list_filters_by_required_traits(client: Client, two_computes: Topology) -> None:
    path = "/resource_providers?required=HW_ARCH_X86_64"
    assert client.get(path, version="1.17").status == 400
    assert _names(client.get(path, version="1.18").json) == ["cn1"]
    forbidden = "/resource_providers?required=!HW_ARCH_X86_64"
    assert client.get(forbidden, version="1.21").status == 400
    assert _names(client.get(forbidden, version="1.22").json) == ["cn2"]
    any_of = "/resource_providers?required=in:HW_ARCH_X86_64,HW_ARCH_AARCH64"
    assert client.get(any_of, version="1.38").status == 400
    assert _names(client.get(any_of, version="1.39").json) == ["cn1", "cn2"]


def test_list_unknown_trait_is_400(client: Client, two_computes: Topology) -> None:
    reply = client.get("/resource_providers?required=CUSTOM_NO_SUCH")
    assert reply.status == 400
    assert "CUSTOM_NO_SUCH" in reply.error["detail"]


def test_list_in_tree_from_1_14(client: Client, gpu_host: Topology) -> None:
    path = f"/resource_providers?in_tree={GPU1}"
    assert client.get(path, version="1.13").status == 400
    assert _names(client.get(path, version="1.14").json) == ["cn1", "cn1_gpu"]


def test_list_member_of(client: Client, service: PlacementService, two_computes: Topology) -> None:
    agg = "ad000000-0000-4000-8000-000000000001"
    generation = client.get(f"/resource_providers/{CN2}").json["generation"]
    put = {"aggregates": [agg], "resource_provider_generation": generation}
    assert client.put(f"/resource_providers/{CN2}/aggregates", put).status == 200
    path = f"/resource_providers?member_of=in:{agg}"
    assert client.get(path, version="1.2").status == 400
    assert _names(client.get(path, version="1.3").json) == ["cn2"]
    assert _names(client.get(f"/resource_providers?member_of={agg}").json) == ["cn2"]
    assert _names(client.get(f"/resource_providers?member_of=!{agg}").json) == ["cn1"]
    reply = client.get("/resource_providers?member_of=not-a-uuid")
    assert reply.status == 400
    assert reply.error["code"] == "placement.query.bad_value"


def test_list_unknown_or_repeated_parameter_is_400(client: Client) -> None:
    reply = client.get("/resource_providers?colour=red")
    assert reply.status == 400
    assert "colour" in reply.error["detail"]
    reply = client.get("/resource_providers?name=a&name=b")
    assert reply.status == 400
    assert reply.error["code"] == "placement.query.duplicate_key"
    assert client.get("/resource_providers?uuid=nope").status == 400


# -------------------------------------------------------------------------- update


def test_rename(client: Client, one_compute: Topology) -> None:
    reply = client.put(f"/resource_providers/{CN1}", {"name": "renamed"})
    assert reply.status == 200
    assert reply.json["name"] == "renamed"
    assert client.get(f"/resource_providers/{CN1}").json["name"] == "renamed"


def test_rename_to_taken_name_is_409(client: Client, two_computes: Topology) -> None:
    reply = client.put(f"/resource_providers/{CN1}", {"name": "cn2"})
    assert reply.status == 409
    assert reply.error["code"] == "placement.duplicate_name"


def test_reparenting_needs_1_37(client: Client, gpu_host: Topology, two_computes: Topology) -> None:
    move = {"name": "cn1_gpu", "parent_provider_uuid": CN2}
    reply = client.put(f"/resource_providers/{GPU1}", move, version="1.36")
    assert reply.status == 400
    assert "re-parenting" in reply.error["detail"]
    reply = client.put(f"/resource_providers/{GPU1}", move, version="1.37")
    assert reply.status == 200
    assert reply.json["root_provider_uuid"] == CN2
    unparent = {"name": "cn1_gpu", "parent_provider_uuid": None}
    assert client.put(f"/resource_providers/{GPU1}", unparent, version="1.36").status == 400
    reply = client.put(f"/resource_providers/{GPU1}", unparent, version="1.37")
    assert reply.json["parent_provider_uuid"] is None


def test_a_root_may_be_given_a_parent_from_1_14(client: Client, two_computes: Topology) -> None:
    body = {"name": "cn2", "parent_provider_uuid": CN1}
    assert client.put(f"/resource_providers/{CN2}", body, version="1.13").status == 400
    reply = client.put(f"/resource_providers/{CN2}", body, version="1.14")
    assert reply.status == 200
    assert reply.json["root_provider_uuid"] == CN1
    looped = client.put(
        f"/resource_providers/{CN1}", {"name": "cn1", "parent_provider_uuid": CN2}, version="1.37"
    )
    assert looped.status == 400


def test_update_unknown_is_404(client: Client) -> None:
    assert client.put(f"/resource_providers/{NEW}", {"name": "x"}).status == 404


# -------------------------------------------------------------------------- delete


def test_delete(client: Client, one_compute: Topology) -> None:
    assert client.delete(f"/resource_providers/{CN1}").status == 204
    assert client.get(f"/resource_providers/{CN1}").status == 404
    assert client.delete(f"/resource_providers/{CN1}").status == 404


def test_delete_parent_is_409(client: Client, gpu_host: Topology) -> None:
    reply = client.delete(f"/resource_providers/{CN1}")
    assert reply.status == 409
    assert reply.error["code"] == "placement.resource_provider.cannot_delete_parent"


def test_delete_with_allocations_is_409(
    client: Client, service: PlacementService, one_compute: Topology
) -> None:
    allocate(service, "a0000000-0000-4000-8000-000000000001", CN1, VCPU=1)
    reply = client.delete(f"/resource_providers/{CN1}")
    assert reply.status == 409
    assert reply.error["code"] == "placement.resource_provider.inuse"
