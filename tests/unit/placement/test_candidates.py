"""Allocation candidates through the service, on named topologies.

* ``compute``: cn1 (VCPU 8, MEMORY_MB 4096, AVX2), cn2 (VCPU 4, MEMORY_MB 2048,
  COMPUTE_STATUS_DISABLED), cn3 (VCPU 16, MEMORY_MB 512 — too little memory).
* ``slices``: host (HW_ARCH_X86_64, no resources) -> s8 (SLICE_8) -> s4a, s4b (SLICE_4)
  -> four SLICE_1 under each.
* ``vgpu``: cn (VCPU, MEMORY_MB) with two vGPU children of different types.
"""

from __future__ import annotations

import pytest
from tests.unit.placement.conftest import add_provider

from virtfleet import errors
from virtfleet.placement.query import parse_candidate_query
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import AllocationRequest, CandidatesResult, Inventory, Provider

V = (1, 39)


def ask(svc: PlacementService, **params: str | list[str]) -> CandidatesResult:
    listed = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    return svc.allocation_candidates(parse_candidate_query(listed, V))


def hosts(result: CandidatesResult, names: dict[str, str]) -> list[str]:
    return sorted(names[rp] for r in result.allocation_requests for rp in r.allocations)


@pytest.fixture
def compute(svc: PlacementService) -> dict[str, Provider]:
    return {
        "cn1": add_provider(svc, "cn1", {"VCPU": 8, "MEMORY_MB": 4096}, {"HW_CPU_X86_AVX2"}),
        "cn2": add_provider(
            svc, "cn2", {"VCPU": 4, "MEMORY_MB": 2048}, {"COMPUTE_STATUS_DISABLED"}
        ),
        "cn3": add_provider(svc, "cn3", {"VCPU": 16, "MEMORY_MB": 512}),
    }


def names_of(topology: dict[str, Provider]) -> dict[str, str]:
    return {p.uuid: name for name, p in topology.items()}


def test_plain_resources(svc: PlacementService, compute: dict[str, Provider]) -> None:
    result = ask(svc, resources="VCPU:2,MEMORY_MB:1024")
    assert hosts(result, names_of(compute)) == ["cn1", "cn2"]
    request = next(r for r in result.allocation_requests if compute["cn1"].uuid in r.allocations)
    assert request.allocations == {compute["cn1"].uuid: {"VCPU": 2, "MEMORY_MB": 1024}}
    assert request.mappings == {"": [compute["cn1"].uuid]}
    summary = result.provider_summaries[compute["cn1"].uuid]
    assert summary.resources["VCPU"].capacity == 8 and summary.resources["VCPU"].used == 0
    assert summary.traits == {"HW_CPU_X86_AVX2"}
    assert set(result.provider_summaries) == {compute["cn1"].uuid, compute["cn2"].uuid}


def test_required_forbidden_and_any_of(svc: PlacementService, compute: dict[str, Provider]) -> None:
    names = names_of(compute)
    assert hosts(ask(svc, resources="VCPU:1", required="HW_CPU_X86_AVX2"), names) == ["cn1"]
    assert hosts(ask(svc, resources="VCPU:1", required="!COMPUTE_STATUS_DISABLED"), names) == [
        "cn1",
        "cn3",
    ]
    any_of = ask(svc, resources="VCPU:1", required="in:HW_CPU_X86_AVX2,COMPUTE_STATUS_DISABLED")
    assert hosts(any_of, names) == ["cn1", "cn2"]
    both = ask(
        svc,
        resources="VCPU:1",
        required=["in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE", "!COMPUTE_STATUS_DISABLED"],
    )
    assert hosts(both, names) == ["cn1"]


def test_capacity_uses_usage_reserved_ratio_and_units(svc: PlacementService) -> None:
    a = add_provider(svc, "a", {"VCPU": Inventory(4, reserved=1, max_unit=6, allocation_ratio=2.0)})
    b = add_provider(svc, "b", {"VCPU": Inventory(16, min_unit=2, max_unit=4, step_size=2)})
    names = names_of({"a": a, "b": b})
    assert hosts(ask(svc, resources="VCPU:6"), names) == ["a"]  # b: above max_unit
    assert hosts(ask(svc, resources="VCPU:1"), names) == ["a"]  # b: below min_unit
    assert hosts(ask(svc, resources="VCPU:3"), names) == ["a"]  # b: not a step
    assert hosts(ask(svc, resources="VCPU:4"), names) == ["a", "b"]
    svc.replace_allocations(
        "c1c1c1c1-0000-4000-8000-000000000001", {a.uuid: {"VCPU": 3}}, "p", "u", None
    )
    assert hosts(ask(svc, resources="VCPU:4"), names) == ["b"]
    assert hosts(ask(svc, resources="VCPU:2"), names) == ["a", "b"]
    assert ask(svc, resources="VCPU:2").provider_summaries[a.uuid].resources["VCPU"].used == 3


def test_candidate_roots_ignore_limits(svc: PlacementService, compute: dict[str, Provider]) -> None:
    small = PlacementService(svc.db, max_candidates=1)
    query = parse_candidate_query({"resources": ["VCPU:1"], "limit": ["1"]}, V)
    assert len(small.allocation_candidates(query).allocation_requests) == 1
    assert sorted(small.candidate_roots(query)) == sorted(p.uuid for p in compute.values())


def test_limit(svc: PlacementService, compute: dict[str, Provider]) -> None:
    result = ask(svc, resources="VCPU:1", limit="2")
    assert len(result.allocation_requests) == 2
    in_results = {rp for r in result.allocation_requests for rp in r.allocations}
    assert set(result.provider_summaries) == in_results


def test_root_required(svc: PlacementService) -> None:
    root = add_provider(svc, "root", {}, {"HW_ARCH_X86_64"})
    add_provider(svc, "gpu", {"VGPU": 4}, parent=root)
    other = add_provider(svc, "other", {}, {"HW_ARCH_AARCH64"})
    add_provider(svc, "gpu2", {"VGPU": 4}, parent=other)

    def req(**params: str) -> int:
        return len(ask(svc, resources="VGPU:1", **params).allocation_requests)

    assert req() == 2
    assert req(root_required="HW_ARCH_X86_64") == 1
    assert req(root_required="!HW_ARCH_X86_64") == 1
    assert req(root_required="HW_ARCH_X86_64,!HW_ARCH_AARCH64") == 1


@pytest.fixture
def nested(svc: PlacementService) -> dict[str, Provider]:
    """cn (VCPU 8, trait AVX2) with child numa0 (MEMORY_MB 1024, trait CUSTOM_NUMA) and
    child numa1 (MEMORY_MB 2048)."""
    svc.ensure_trait("CUSTOM_NUMA")
    cn = add_provider(svc, "cn", {"VCPU": 8}, {"HW_CPU_X86_AVX2"})
    return {
        "cn": cn,
        "numa0": add_provider(svc, "numa0", {"MEMORY_MB": 1024}, {"CUSTOM_NUMA"}, parent=cn),
        "numa1": add_provider(svc, "numa1", {"MEMORY_MB": 2048}, parent=cn),
    }


def pairs(result: CandidatesResult, names: dict[str, str]) -> list[dict[str, dict[str, int]]]:
    return sorted(
        (
            {names[rp]: dict(res) for rp, res in r.allocations.items()}
            for r in result.allocation_requests
        ),
        key=repr,
    )


def test_unsuffixed_group_spans_the_tree(
    svc: PlacementService, nested: dict[str, Provider]
) -> None:
    names = names_of(nested)
    result = ask(svc, resources="VCPU:1,MEMORY_MB:512")
    assert pairs(result, names) == [
        {"cn": {"VCPU": 1}, "numa0": {"MEMORY_MB": 512}},
        {"cn": {"VCPU": 1}, "numa1": {"MEMORY_MB": 512}},
    ]
    assert set(result.provider_summaries) == {p.uuid for p in nested.values()}
    mapping = result.allocation_requests[0].mappings[""]
    assert sorted(mapping) == sorted(result.allocation_requests[0].allocations)
    # Traits of the unsuffixed group: the union over the providers that give resources.
    traits = ask(svc, resources="VCPU:1,MEMORY_MB:512", required="HW_CPU_X86_AVX2,CUSTOM_NUMA")
    assert pairs(traits, names) == [{"cn": {"VCPU": 1}, "numa0": {"MEMORY_MB": 512}}]
    forbidden = ask(svc, resources="VCPU:1,MEMORY_MB:512", required="!CUSTOM_NUMA")
    assert pairs(forbidden, names) == [{"cn": {"VCPU": 1}, "numa1": {"MEMORY_MB": 512}}]
    # A trait only on a provider that gives nothing does not count.
    assert ask(svc, resources="MEMORY_MB:512", required="HW_CPU_X86_AVX2").allocation_requests == []


def test_granular_groups_each_on_one_provider(
    svc: PlacementService, nested: dict[str, Provider]
) -> None:
    names = names_of(nested)
    result = ask(
        svc,
        resources="VCPU:1",
        resources1="MEMORY_MB:512",
        required1="CUSTOM_NUMA",
        group_policy="none",
    )
    assert pairs(result, names) == [{"cn": {"VCPU": 1}, "numa0": {"MEMORY_MB": 512}}]
    assert result.allocation_requests[0].mappings == {
        "": [nested["cn"].uuid],
        "1": [nested["numa0"].uuid],
    }
    # One group's resources cannot be split across providers.
    assert ask(svc, resources1="VCPU:1,MEMORY_MB:512").allocation_requests == []


def test_group_policy_none_and_isolate(svc: PlacementService, nested: dict[str, Provider]) -> None:
    names = names_of(nested)
    none = ask(svc, resources1="MEMORY_MB:256", resources2="MEMORY_MB:256", group_policy="none")
    assert len(none.allocation_requests) == 4  # both on numa0, both on numa1, and 2 splits
    isolate = ask(
        svc, resources1="MEMORY_MB:256", resources2="MEMORY_MB:256", group_policy="isolate"
    )
    assert pairs(isolate, names) == [
        {"numa0": {"MEMORY_MB": 256}, "numa1": {"MEMORY_MB": 256}},
        {"numa0": {"MEMORY_MB": 256}, "numa1": {"MEMORY_MB": 256}},
    ]
    assert {tuple(r.mappings["1"]) for r in isolate.allocation_requests} == {
        (nested["numa0"].uuid,),
        (nested["numa1"].uuid,),
    }
    # Amounts of several groups on one provider add up against its capacity.
    summed = ask(svc, resources1="MEMORY_MB:1024", resources2="MEMORY_MB:1024", group_policy="none")
    assert pairs(summed, names) == [
        {"numa0": {"MEMORY_MB": 1024}, "numa1": {"MEMORY_MB": 1024}},
        {"numa0": {"MEMORY_MB": 1024}, "numa1": {"MEMORY_MB": 1024}},
        {"numa1": {"MEMORY_MB": 2048}},
    ]


@pytest.fixture
def slices(svc: PlacementService) -> dict[str, Provider]:
    for rc in ("CUSTOM_SLICE_8", "CUSTOM_SLICE_4", "CUSTOM_SLICE_1"):
        svc.ensure_resource_class(rc)
    host = add_provider(svc, "host", {}, {"HW_ARCH_X86_64"})
    tree = {"host": host, "s8": add_provider(svc, "s8", {"CUSTOM_SLICE_8": 1}, parent=host)}
    for a in "ab":
        tree[f"s4{a}"] = add_provider(svc, f"s4{a}", {"CUSTOM_SLICE_4": 1}, parent=tree["s8"])
        for b in range(4):
            tree[f"s1{a}{b}"] = add_provider(
                svc, f"s1{a}{b}", {"CUSTOM_SLICE_1": 1}, parent=tree[f"s4{a}"]
            )
    return tree


SLICE_4_PLUS_4x1 = {
    "resources_A": "CUSTOM_SLICE_4:1",
    "resources_B": "CUSTOM_SLICE_1:1",
    "resources_C": "CUSTOM_SLICE_1:1",
    "resources_D": "CUSTOM_SLICE_1:1",
    "resources_E": "CUSTOM_SLICE_1:1",
    "group_policy": "isolate",
}


def test_same_subtree_keeps_slices_under_their_parent(
    svc: PlacementService, slices: dict[str, Provider]
) -> None:
    names = names_of(slices)
    without = ask(svc, **SLICE_4_PLUS_4x1)
    assert len(without.allocation_requests) == 2 * 8 * 7 * 6 * 5
    result = ask(svc, **SLICE_4_PLUS_4x1, same_subtree="_A,_B,_C,_D,_E")
    # Each 4-slice with its own four 1-slices, in every order of the four groups.
    assert len(result.allocation_requests) == 2 * 24
    for request in result.allocation_requests:
        chosen = {names[rp] for rp in request.allocations}
        four = next(n for n in chosen if n.startswith("s4"))
        assert chosen == {four} | {f"s1{four[-1]}{b}" for b in range(4)}
    assert set(result.provider_summaries) == {p.uuid for p in slices.values()}


def test_limit_keeps_a_combinatorial_query_cheap(
    svc: PlacementService, slices: dict[str, Provider]
) -> None:
    result = ask(svc, **SLICE_4_PLUS_4x1, same_subtree="_A,_B,_C,_D,_E", limit="3")
    assert len(result.allocation_requests) == 3


def test_resourceless_group_anchors_same_subtree(
    svc: PlacementService, slices: dict[str, Provider]
) -> None:
    svc.ensure_trait("CUSTOM_FAST")
    generation, _ = svc.get_provider_traits(slices["s4b"].uuid)
    svc.set_provider_traits(slices["s4b"].uuid, generation, ["CUSTOM_FAST"])
    names = names_of(slices)
    result = ask(
        svc,
        resources_X="CUSTOM_SLICE_1:1",
        required_F="CUSTOM_FAST",
        same_subtree="_X,_F",
        group_policy="none",
    )
    assert sorted(hosts(result, names)) == ["s1b0", "s1b1", "s1b2", "s1b3"]
    for request in result.allocation_requests:
        assert request.mappings["_F"] == [slices["s4b"].uuid]
        assert slices["s4b"].uuid not in request.allocations


def test_taken_slices_are_not_offered(svc: PlacementService, slices: dict[str, Provider]) -> None:
    claim = {slices["s4a"].uuid: {"CUSTOM_SLICE_4": 1}}
    claim |= {slices[f"s1a{b}"].uuid: {"CUSTOM_SLICE_1": 1} for b in range(4)}
    svc.replace_allocations("c1c1c1c1-0000-4000-8000-000000000001", claim, "p", "u", None)
    names = names_of(slices)
    assert hosts(ask(svc, resources_S="CUSTOM_SLICE_4:1"), names) == ["s4b"]
    result = ask(svc, **SLICE_4_PLUS_4x1, same_subtree="_A,_B,_C,_D,_E")
    assert len(result.allocation_requests) == 24


def test_in_tree(svc: PlacementService, compute: dict[str, Provider]) -> None:
    names = names_of(compute)
    assert hosts(ask(svc, resources="VCPU:1", in_tree=compute["cn3"].uuid), names) == ["cn3"]
    other = "99999999-9999-4999-8999-999999999999"
    assert ask(svc, resources="VCPU:1", in_tree=other).allocation_requests == []


def test_member_of(svc: PlacementService, compute: dict[str, Provider]) -> None:
    agg = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    svc.set_provider_aggregates(compute["cn2"].uuid, None, [agg])
    names = names_of(compute)
    assert hosts(ask(svc, resources="VCPU:1", member_of=agg), names) == ["cn2"]
    assert hosts(ask(svc, resources="VCPU:1", member_of=f"!{agg}"), names) == ["cn1", "cn3"]


def test_unknown_names_are_rejected(svc: PlacementService, compute: dict[str, Provider]) -> None:
    with pytest.raises(errors.InvalidInput, match="CUSTOM_NOPE"):
        ask(svc, resources="CUSTOM_NOPE:1")
    with pytest.raises(errors.InvalidInput, match="CUSTOM_NOTRAIT"):
        ask(svc, resources="VCPU:1", required="CUSTOM_NOTRAIT")


def test_no_candidates_is_empty_not_an_error(
    svc: PlacementService, compute: dict[str, Provider]
) -> None:
    result = ask(svc, resources="VCPU:100")
    assert result.allocation_requests == [] and result.provider_summaries == {}


def test_candidate_claims_as_returned(svc: PlacementService, slices: dict[str, Provider]) -> None:
    """A candidate's allocations are a valid allocation write, once."""
    result = ask(svc, **SLICE_4_PLUS_4x1, same_subtree="_A,_B,_C,_D,_E", limit="1")
    request: AllocationRequest = result.allocation_requests[0]
    allocations = {rp: dict(res) for rp, res in request.allocations.items()}
    svc.replace_allocations("c1c1c1c1-0000-4000-8000-000000000001", allocations, "p", "u", None)
    with pytest.raises(errors.Conflict):
        svc.replace_allocations("c2c2c2c2-0000-4000-8000-000000000002", allocations, "p", "u", None)


def test_root_aggregates_span_the_tree_only_for_the_unsuffixed_group(
    svc: PlacementService, nested: dict[str, Provider]
) -> None:
    agg = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    svc.set_provider_aggregates(nested["cn"].uuid, None, [agg])
    names = names_of(nested)
    spans = ask(svc, resources="MEMORY_MB:512", member_of=agg)
    assert sorted(hosts(spans, names)) == ["numa0", "numa1"]
    direct = ask(svc, resources_M="MEMORY_MB:512", member_of_M=agg)
    assert direct.allocation_requests == []
    svc.set_provider_aggregates(nested["numa1"].uuid, None, [agg])
    assert hosts(ask(svc, resources_M="MEMORY_MB:512", member_of_M=agg), names) == ["numa1"]
