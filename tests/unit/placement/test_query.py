"""parse_candidate_query: the query string of GET /allocation_candidates."""

from __future__ import annotations

import pytest

from virtfleet.placement import exceptions as exc
from virtfleet.placement.query import parse_candidate_query
from virtfleet.placement.types import CandidateQuery, RequestGroup

AGG = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
AGG2 = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


def parse(version: tuple[int, int] = (1, 39), **params: str | list[str]) -> CandidateQuery:
    listed = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    return parse_candidate_query(listed, version)


def test_full_query() -> None:
    query = parse(
        resources="VCPU:2,MEMORY_MB:1024",
        required=["HW_CPU_X86_AVX2,!COMPUTE_STATUS_DISABLED", "in:HW_ARCH_X86_64,HW_ARCH_AARCH64"],
        member_of=[f"in:{AGG},{AGG2}", f"!{AGG2}"],
        in_tree=AGG,
        resources_GPU="VGPU:1",
        required_GPU="CUSTOM_T4",
        group_policy="isolate",
        limit="10",
        root_required="HW_ARCH_X86_64,!CUSTOM_BAD",
    )
    unsuffixed, gpu = query.groups
    assert unsuffixed == RequestGroup(
        suffix="",
        resources={"VCPU": 2, "MEMORY_MB": 1024},
        required=[
            frozenset({"HW_CPU_X86_AVX2"}),
            frozenset({"HW_ARCH_X86_64", "HW_ARCH_AARCH64"}),
        ],
        forbidden=frozenset({"COMPUTE_STATUS_DISABLED"}),
        member_of=[frozenset({AGG, AGG2})],
        forbidden_aggregates=frozenset({AGG2}),
        in_tree=AGG,
    )
    assert gpu.suffix == "_GPU" and gpu.resources == {"VGPU": 1}
    assert gpu.required == [frozenset({"CUSTOM_T4"})]
    assert (query.group_policy, query.limit) == ("isolate", 10)
    assert query.root_required == {"HW_ARCH_X86_64"} and query.root_forbidden == {"CUSTOM_BAD"}


def test_same_subtree_and_resourceless_groups() -> None:
    query = parse(
        resources_X="CUSTOM_SLICE_1:1",
        required_F="CUSTOM_FAST",
        same_subtree=["_X,_F"],
        group_policy="none",
    )
    assert query.same_subtree == [frozenset({"_X", "_F"})]
    assert [g.resources for g in query.groups] == [{}, {"CUSTOM_SLICE_1": 1}]


@pytest.mark.parametrize(
    ("version", "params", "message"),
    [
        ((1, 39), {}, "at least one resources"),
        ((1, 39), {"resources": "VCPU"}, "Badly formed resources"),
        ((1, 39), {"resources": "VCPU:0"}, "positive integer"),
        ((1, 39), {"resources": "VCPU:-1"}, "positive integer"),
        ((1, 39), {"resources": "VCPU:x"}, "positive integer"),
        ((1, 39), {"resources": "VCPU:1", "limit": "0"}, "limit"),
        ((1, 39), {"resources": "VCPU:1", "group_policy": "fair"}, "group_policy"),
        ((1, 39), {"resources1": "VCPU:1", "resources2": "VCPU:1"}, "group_policy"),
        ((1, 39), {"resources": "VCPU:1", "required": "A,!A"}, "Conflicting"),
        ((1, 39), {"resources": "VCPU:1", "required": "in:A,!B"}, "in:"),
        ((1, 39), {"resources": "VCPU:1", "member_of": "not-a-uuid"}, "member_of"),
        ((1, 39), {"resources": "VCPU:1", "member_of": f"{AGG},{AGG2}"}, "member_of"),
        ((1, 39), {"resources": "VCPU:1", "in_tree": "nope"}, "in_tree"),
        ((1, 39), {"resources": "VCPU:1", "bogus": "1"}, "bogus"),
        ((1, 39), {"resources_X": "VCPU:1", "required_Y": "A"}, "same_subtree"),
        ((1, 39), {"resources_X": "VCPU:1", "same_subtree": "_X,_Z"}, "_Z"),
        ((1, 39), {"resources_X": "VCPU:1", "same_subtree": "_X,"}, "Empty string"),
        ((1, 39), {"resources": "VCPU:1", "root_required": ["A", "B"]}, "only once"),
        ((1, 39), {"resources": "VCPU:1", "root_required": "in:A,B"}, "in:"),
        ((1, 38), {"resources": "VCPU:1", "required": "in:A,B"}, "1.39"),
        ((1, 23), {"resources": "VCPU:1", "member_of": [AGG, AGG]}, "1.24"),
        ((1, 35), {"resources": "VCPU:1", "required_F": "A"}, "orphaned"),
        ((1, 32), {"resources_X": "VCPU:1"}, "resources_X"),
        ((1, 30), {"resources": "VCPU:1", "in_tree": AGG}, "in_tree"),
        ((1, 31), {"resources": "VCPU:1", "member_of": f"!{AGG}"}, "1.32"),
        ((1, 34), {"resources": "VCPU:1", "root_required": "A"}, "root_required"),
        ((1, 24), {"resources1": "VCPU:1"}, "resources1"),
    ],
)
def test_bad_queries_name_the_problem(
    version: tuple[int, int], params: dict[str, str | list[str]], message: str
) -> None:
    with pytest.raises(exc.InvalidInput, match=message) as error:
        parse(version, **params)
    assert error.value.code.startswith("placement.")


def test_older_versions_accept_their_syntax() -> None:
    assert parse((1, 25), resources1="VCPU:1", resources2="VCPU:1", group_policy="none").groups
    assert parse((1, 10), resources="VCPU:1").limit is None
    # '!' before 1.22 is no forbidden trait, just a bad name.
    with pytest.raises(exc.InvalidInput, match="!A"):
        parse((1, 21), resources="VCPU:1", required="!A")
