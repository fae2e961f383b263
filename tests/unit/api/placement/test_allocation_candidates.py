"""GET /allocation_candidates on the named topologies."""

from __future__ import annotations

from virtfleet.placement.service import PlacementService

from .conftest import CN1, CN2, CONSUMER, GPU1, Client, Topology, allocate

AC = "/allocation_candidates"


def test_single_host_1_10_list_form(client: Client, two_computes: Topology) -> None:
    reply = client.get(f"{AC}?resources=VCPU:6", version="1.10")
    assert reply.status == 200
    assert reply.json["allocation_requests"] == [
        {"allocations": [{"resource_provider": {"uuid": CN1}, "resources": {"VCPU": 6}}]}
    ]
    summary = reply.json["provider_summaries"][CN1]
    assert summary == {"resources": {"VCPU": {"capacity": 8, "used": 0}}}


def test_1_12_dict_form_and_both_hosts(client: Client, two_computes: Topology) -> None:
    reply = client.get(f"{AC}?resources=VCPU:1", version="1.12")
    requests = reply.json["allocation_requests"]
    assert {rp for r in requests for rp in r["allocations"]} == {CN1, CN2}
    assert {"allocations": {CN2: {"resources": {"VCPU": 1}}}} in requests


def test_used_capacity_is_counted(
    client: Client, service: PlacementService, two_computes: Topology
) -> None:
    allocate(service, CONSUMER, CN1, VCPU=6)
    reply = client.get(f"{AC}?resources=VCPU:3")
    assert [list(r["allocations"]) for r in reply.json["allocation_requests"]] == [[CN2]]
    cn1 = client.get(f"{AC}?resources=VCPU:2").json["provider_summaries"][CN1]
    assert cn1["resources"]["VCPU"] == {"capacity": 8, "used": 6}


def test_required_traits_from_1_17(client: Client, two_computes: Topology) -> None:
    path = f"{AC}?resources=VCPU:1&required=HW_ARCH_X86_64"
    assert client.get(path, version="1.16").status == 400
    reply = client.get(path, version="1.17")
    assert [list(r["allocations"]) for r in reply.json["allocation_requests"]] == [[CN1]]
    assert reply.json["provider_summaries"][CN1]["traits"] == ["HW_ARCH_X86_64"]
    forbidden = client.get(f"{AC}?resources=VCPU:1&required=!HW_ARCH_X86_64", version="1.22")
    assert [list(r["allocations"]) for r in forbidden.json["allocation_requests"]] == [[CN2]]


def test_limit_from_1_16(client: Client, two_computes: Topology) -> None:
    assert client.get(f"{AC}?resources=VCPU:1&limit=1", version="1.15").status == 400
    reply = client.get(f"{AC}?resources=VCPU:1&limit=1", version="1.16")
    assert len(reply.json["allocation_requests"]) == 1
    assert client.get(f"{AC}?resources=VCPU:1&limit=0").status == 400


def test_summaries_list_every_class_from_1_27(client: Client, one_compute: Topology) -> None:
    old = client.get(f"{AC}?resources=VCPU:1", version="1.26").json["provider_summaries"][CN1]
    assert set(old["resources"]) == {"VCPU"}
    new = client.get(f"{AC}?resources=VCPU:1", version="1.27").json["provider_summaries"][CN1]
    assert set(new["resources"]) == {"VCPU", "MEMORY_MB"}


def test_nested_tree_from_1_29(client: Client, gpu_host: Topology) -> None:
    path = f"{AC}?resources=VCPU:1,CUSTOM_VGPU_T4:1"
    assert client.get(path, version="1.28").json["allocation_requests"] == []
    reply = client.get(path, version="1.29")
    assert reply.json["allocation_requests"] == [
        {
            "allocations": {
                CN1: {"resources": {"VCPU": 1}},
                GPU1: {"resources": {"CUSTOM_VGPU_T4": 1}},
            }
        }
    ]
    gpu = reply.json["provider_summaries"][GPU1]
    assert gpu["parent_provider_uuid"] == CN1
    assert gpu["root_provider_uuid"] == CN1


def test_mappings_from_1_34(client: Client, gpu_host: Topology) -> None:
    path = f"{AC}?resources=VCPU:1&resources_GPU=CUSTOM_VGPU_T4:1&group_policy=none"
    assert "mappings" not in client.get(path, version="1.33").json["allocation_requests"][0]
    (request,) = client.get(path, version="1.34").json["allocation_requests"]
    assert request["mappings"] == {"": [CN1], "_GPU": [GPU1]}


def test_bad_queries_are_400(client: Client, two_computes: Topology) -> None:
    cases = {
        f"{AC}": "placement.query.missing_value",
        f"{AC}?resources=VCPU": "placement.query.bad_value",
        f"{AC}?resources=VCPU:one": "placement.query.bad_value",
        f"{AC}?resources=CUSTOM_NOPE:1": "placement.query.bad_value",
        f"{AC}?resources=VCPU:1&required=CUSTOM_NOPE": "placement.query.bad_value",
        f"{AC}?resources=VCPU:1&colour=red": "placement.undefined_code",
        f"{AC}?resources=VCPU:1&resources=VCPU:2": "placement.query.duplicate_key",
        f"{AC}?resources1=VCPU:1&resources2=VCPU:1": "placement.query.bad_value",
        f"{AC}?resources=VCPU:1&member_of=nope": "placement.query.bad_value",
    }
    for path, code in cases.items():
        reply = client.get(path)
        assert reply.status == 400, path
        assert reply.error["code"] == code, path


def test_member_of_from_1_21(client: Client, two_computes: Topology) -> None:
    agg = "ad000000-0000-4000-8000-00000000000a"
    generation = client.get(f"/resource_providers/{CN2}").json["generation"]
    put = {"aggregates": [agg], "resource_provider_generation": generation}
    client.put(f"/resource_providers/{CN2}/aggregates", put)
    path = f"{AC}?resources=VCPU:1&member_of={agg}"
    assert client.get(path, version="1.20").status == 400
    reply = client.get(path, version="1.21")
    assert [list(r["allocations"]) for r in reply.json["allocation_requests"]] == [[CN2]]


def test_in_tree_from_1_31(client: Client, two_computes: Topology) -> None:
    path = f"{AC}?resources=VCPU:1&in_tree={CN2}"
    assert client.get(path, version="1.30").status == 400
    reply = client.get(path, version="1.31")
    assert [list(r["allocations"]) for r in reply.json["allocation_requests"]] == [[CN2]]


def test_root_required_from_1_35(client: Client, gpu_host: Topology) -> None:
    path = f"{AC}?resources_GPU=CUSTOM_VGPU_T4:1&root_required=HW_ARCH_X86_64"
    assert client.get(path, version="1.34").status == 400
    reply = client.get(path, version="1.35")
    assert [list(r["allocations"]) for r in reply.json["allocation_requests"]] == [[GPU1]]
    none = client.get(f"{AC}?resources_GPU=CUSTOM_VGPU_T4:1&root_required=!HW_ARCH_X86_64")
    assert none.json["allocation_requests"] == []


def test_string_suffixes_from_1_33(client: Client, gpu_host: Topology) -> None:
    path = f"{AC}?resources_GPU=CUSTOM_VGPU_T4:1"
    assert client.get(path, version="1.32").status == 400
    assert client.get(path, version="1.33").status == 200
    assert client.get(f"{AC}?resources1=CUSTOM_VGPU_T4:1", version="1.25").status == 200
    assert client.get(f"{AC}?resources1=CUSTOM_VGPU_T4:1", version="1.24").status == 400
