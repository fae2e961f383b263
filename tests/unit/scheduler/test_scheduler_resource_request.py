"""Flavor + extra specs -> request groups and the placement query."""

from __future__ import annotations

import pytest

from support.guest import guest_request
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.placement.types import RequestGroup
from virtfleet.scheduler.constraints import Group
from virtfleet.scheduler.prefilters import build_query
from virtfleet.scheduler.resource_request import (
    FlavorSpec,
    RequestSpec,
    describe,
    flavor_constraints,
)


def flavor(**extra_specs: str) -> FlavorSpec:
    return FlavorSpec(
        vcpus=2, memory_mb=4096, root_gb=10, ephemeral_gb=5, swap=1500, extra_specs=extra_specs
    )


def unnamed(f: FlavorSpec) -> Group:
    group = flavor_constraints(f).group("")
    assert group is not None
    return group


def test_flavor_resources_with_swap_rounded_up_to_gib() -> None:
    assert unnamed(flavor()).resources == {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 17}


def test_zero_sized_flavor_fields_are_not_requested() -> None:
    f = FlavorSpec(vcpus=1, memory_mb=512)
    assert unnamed(f).resources == {"VCPU": 1, "MEMORY_MB": 512}


def test_resources_extra_spec_overrides_and_adds() -> None:
    group = unnamed(flavor(**{"resources:VCPU": "8", "resources:CUSTOM_FPGA": "1"}))
    assert group.resources == {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 17, "CUSTOM_FPGA": 1}


def test_resources_zero_removes_a_class() -> None:
    group = unnamed(flavor(**{"resources:DISK_GB": "0"}))
    assert group.resources == {"VCPU": 2, "MEMORY_MB": 4096}


def test_slice_flavor_asks_only_for_the_slice() -> None:
    f = FlavorSpec(vcpus=0, memory_mb=0, extra_specs={"resources:CUSTOM_SLICE_4GPU": "1"})
    assert unnamed(f).resources == {"CUSTOM_SLICE_4GPU": 1}


def test_granular_groups_and_traits() -> None:
    constraints = flavor_constraints(
        flavor(
            **{
                "resources1:VGPU": "1",
                "trait1:CUSTOM_NVIDIA_A100": "required",
                "resources2:SRIOV_NET_VF": "2",
                "trait2:HW_NIC_SRIOV_TRUSTED": "forbidden",
                "group_policy": "isolate",
            }
        )
    )
    assert [g.suffix for g in constraints.groups] == ["", "1", "2"]
    one, two = constraints.group("1"), constraints.group("2")
    assert one == Group("1", {"VGPU": 1}, (frozenset({"CUSTOM_NVIDIA_A100"}),))
    assert two == Group("2", {"SRIOV_NET_VF": 2}, (), frozenset({"HW_NIC_SRIOV_TRUSTED"}))
    assert constraints.group_policy == "isolate"


def test_unnamed_trait_required_and_forbidden() -> None:
    group = unnamed(
        flavor(
            **{"trait:HW_CPU_X86_AVX2": "required", "trait:COMPUTE_STATUS_DISABLED": "forbidden"}
        )
    )
    assert group.required == (frozenset({"HW_CPU_X86_AVX2"}),)
    assert group.forbidden == frozenset({"COMPUTE_STATUS_DISABLED"})


def test_two_granular_groups_default_to_group_policy_none() -> None:
    specs = {"resources1:VGPU": "1", "resources2:VGPU": "1"}
    assert flavor_constraints(flavor(**specs)).group_policy == "none"
    assert flavor_constraints(flavor(**{"resources1:VGPU": "1"})).group_policy is None


def test_same_subtree_extra_spec() -> None:
    specs = {"resources1:VGPU": "1", "resources2:SRIOV_NET_VF": "1", "same_subtree": "1, 2"}
    assert flavor_constraints(flavor(**specs)).same_subtree == (frozenset({"1", "2"}),)


@pytest.mark.parametrize(
    ("specs", "fragment"),
    [
        ({"resources:VCPU": "-1"}, "resources:VCPU"),
        ({"resources:VCPU": "many"}, "resources:VCPU"),
        ({"resources:NOT_A_CLASS": "1"}, "NOT_A_CLASS"),
        ({"trait:HW_CPU_X86_AVX2": "preferred"}, "preferred"),
        ({"trait:NOT_A_TRAIT": "required"}, "NOT_A_TRAIT"),
        ({"group_policy": "sometimes"}, "group_policy"),
        ({"trait1:HW_CPU_X86_AVX2": "required"}, "resources1"),
        ({"resources1:VGPU": "1", "same_subtree": "1,7"}, "unknown: 7"),
        ({"resources1:VGPU": "1", "same_subtree": "1"}, "two or more"),
    ],
)
def test_bad_extra_specs_are_invalid_input_naming_the_problem(
    specs: dict[str, str], fragment: str
) -> None:
    with pytest.raises(errors.InvalidInput, match=fragment):
        flavor_constraints(flavor(**specs))


def test_flavor_that_asks_for_nothing_is_invalid() -> None:
    f = FlavorSpec(vcpus=0, memory_mb=0)
    with pytest.raises(errors.InvalidInput, match="no resources"):
        flavor_constraints(f)


def test_build_query_passes_limit_groups_and_root_traits() -> None:
    conf = make_conf(scheduler__max_placement_results=7)
    spec = RequestSpec(
        "inst-1",
        "proj",
        "user",
        flavor(**{"resources1:VGPU": "1"}),
        image_properties={"hw_emulation_architecture": "arm64"},
        guest=guest_request({"hw_emulation_architecture": "arm64"}),
    )
    query = build_query(spec, conf)
    assert query.limit == 7
    assert query.root_required == frozenset({"COMPUTE_ARCH_AARCH64"})
    assert list(query.groups) == [
        RequestGroup("", {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 17}),
        RequestGroup("1", {"VGPU": 1}),
    ]


def test_build_query_without_image_prefilter_requires_no_arch_trait() -> None:
    conf = make_conf(scheduler__image_metadata_prefilter=False)
    guest = guest_request({"hw_emulation_architecture": "aarch64"})
    spec = RequestSpec("i", "p", "u", flavor(), guest=guest)
    assert build_query(spec, conf).root_required == frozenset()


def test_describe_reads_like_the_request() -> None:
    f = FlavorSpec(vcpus=8, memory_mb=16384, root_gb=20)
    constraints = flavor_constraints(f).require_on_root("COMPUTE_ARCH_S390X")
    assert describe(constraints) == (
        "8 VCPU, 16384 MB RAM, 20 GB disk, requires COMPUTE_ARCH_S390X"
    )
