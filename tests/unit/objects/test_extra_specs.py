"""The extra-spec table: each known key's parser, the namespaces, cross-checks."""

from __future__ import annotations

import pytest

from virtfleet import errors
from virtfleet.objects.extra_specs import (
    EXTRA_SPECS,
    GROUP_SUFFIX,
    bits_needed_for_ram,
    find_extra_spec,
    parse_extra_spec,
    validate_extra_specs,
)


@pytest.mark.parametrize(
    ("key", "value", "parsed"),
    [
        ("resources:VCPU", "2", 2),
        ("resources:CUSTOM_SLICE_4", "1", 1),
        ("resources1:MEMORY_MB", "0", 0),
        ("resources_GPU:VGPU", "1", 1),
        ("same_subtree", "1, _GPU", ("1", "_GPU")),
        ("trait:HW_CPU_X86_AVX2", "required", "required"),
        ("trait2:CUSTOM_GPU", "forbidden", "forbidden"),
        ("group_policy", "isolate", "isolate"),
        ("hw:cpu_policy", "dedicated", "dedicated"),
        ("hw:mem_page_size", "2MB", "2MB"),
        ("hw:mem_page_size", "large", "large"),
        ("hw:maxphysaddr_mode", "passthrough", "passthrough"),
        ("hw:maxphysaddr_bits", "42", 42),
        ("vendor:anything", "kept as is", "kept as is"),
    ],
)
def test_valid_values_parse(key: str, value: str, parsed: object) -> None:
    assert parse_extra_spec(key, value) == parsed


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("resources:VCPU", "-1", "expected an integer from 0 to 2147483647"),
        ("resources:VCPU", "two", "expected an integer from 0 to 2147483647"),
        ("resources:VCPU", "99999999999999999999", "expected an integer from 0 to 2147483647"),
        ("resources:vcpu", "1", "'vcpu' is not a resource class"),
        ("resources:CUSTOM_lower", "1", "is not a resource class"),
        ("trait:HW_CPU_X86_AVX2", "yes", "expected one of required, forbidden"),
        ("trait:NOT_A_TRAIT", "required", "'NOT_A_TRAIT' is not a standard trait"),
        ("group_policy", "sometimes", "expected one of none, isolate"),
        ("hw:cpu_policy", "pinned", "expected one of shared, dedicated, mixed"),
        ("hw:mem_page_size", "huge", "expected small, large, any"),
        ("hw:maxphysaddr_mode", "bogus", "expected one of emulate, passthrough"),
        ("hw:maxphysaddr_bits", "0", "expected an integer from 32 to 52"),
        ("hw:maxphysaddr_bits", "53", "expected an integer from 32 to 52"),
        ("hw:maxphysaddr_bits", "4x", "expected an integer from 32 to 52"),
        ("hw:no_such_key", "1", "Unknown extra spec 'hw:no_such_key'"),
        ("resources_GPU:vgpu", "1", "is not a resource class"),
        ("same_subtree", "1", "two or more comma-separated"),
        ("same_subtree", "1,a b", "two or more comma-separated"),
    ],
)
def test_invalid_values_name_key_value_and_allowed(key: str, value: str, fragment: str) -> None:
    with pytest.raises(errors.InvalidInput) as exc:
        parse_extra_spec(key, value)
    assert fragment in exc.value.message
    assert key in exc.value.message


def test_every_row_has_a_description_and_matches_its_own_example() -> None:
    examples = {
        rf"resources{GROUP_SUFFIX}:[^:]+": "resources3:VCPU",
        rf"trait{GROUP_SUFFIX}:[^:]+": "trait:CUSTOM_X",
        r"same_subtree": "same_subtree",
        r"group_policy": "group_policy",
        r"hw:cpu_policy": "hw:cpu_policy",
        r"hw:mem_page_size": "hw:mem_page_size",
        r"hw:maxphysaddr_mode": "hw:maxphysaddr_mode",
        r"hw:maxphysaddr_bits": "hw:maxphysaddr_bits",
    }
    assert {spec.pattern for spec in EXTRA_SPECS} == set(examples)
    for spec in EXTRA_SPECS:
        assert spec.description
        assert find_extra_spec(examples[spec.pattern]) is spec


def test_emulate_requires_bits() -> None:
    with pytest.raises(errors.InvalidInput, match="mode=emulate requires maxphysaddr bits"):
        validate_extra_specs({"hw:maxphysaddr_mode": "emulate"})


def test_passthrough_forbids_bits() -> None:
    with pytest.raises(errors.InvalidInput, match="bits=40 is not allowed"):
        validate_extra_specs({"hw:maxphysaddr_mode": "passthrough", "hw:maxphysaddr_bits": "40"})


def test_bits_without_mode_are_refused() -> None:
    with pytest.raises(errors.InvalidInput, match="needs maxphysaddr mode=emulate"):
        validate_extra_specs({"hw:maxphysaddr_bits": "40"})


def test_ram_that_the_bits_cannot_address_is_refused_with_the_bits_needed() -> None:
    one_tib = 1024 * 1024
    with pytest.raises(errors.InvalidInput, match="needs at least 41 physical address bits"):
        validate_extra_specs(
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "40"}, ram_mb=one_tib
        )
    parsed = validate_extra_specs(
        {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "41"}, ram_mb=one_tib
    )
    assert parsed == {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": 41}


@pytest.mark.parametrize(
    ("ram_mb", "bits"), [(512, 31), (1024, 31), (3072, 32), (4096, 33), (1024 * 1024, 41)]
)
def test_bits_needed_count_the_pci_hole(ram_mb: int, bits: int) -> None:
    assert bits_needed_for_ram(ram_mb) == bits


def test_non_string_values_are_refused() -> None:
    with pytest.raises(errors.InvalidInput, match="values must be strings"):
        validate_extra_specs({"hw:cpu_policy": 1})  # type: ignore[dict-item]
