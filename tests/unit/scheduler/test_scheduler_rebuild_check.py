"""A rebuild's own host checked against the new image: the traits the guest request
requires on the root provider, then the arch and maxphysaddr filters; each refusal
names the host and what it lacks."""

from __future__ import annotations

from support.guest import guest_request
from virtfleet.scheduler import rebuild_check
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

from .test_scheduler_filters import host

X86_TRAITS = {"HW_ARCH_X86_64", "COMPUTE_ARCH_AARCH64", "COMPUTE_ADDRESS_SPACE_EMULATED"}


def spec(image: dict[str, object]) -> RequestSpec:
    return RequestSpec(
        "inst",
        "proj",
        "user",
        FlavorSpec(vcpus=1, memory_mb=1024),
        image_properties=image,
        guest=guest_request(image, {}),
    )


def test_an_image_the_host_runs_passes() -> None:
    assert (
        rebuild_check.host_refusal(host(), X86_TRAITS, spec({"hw_architecture": "x86_64"})) is None
    )


def test_a_native_architecture_the_host_lacks_is_named() -> None:
    why = rebuild_check.host_refusal(host(), X86_TRAITS, spec({"hw_architecture": "aarch64"}))
    assert why == "its host h1 lacks the trait(s) HW_ARCH_AARCH64 it needs"


def test_an_emulated_architecture_needs_its_trait_and_the_filter() -> None:
    image = {"hw_emulation_architecture": "aarch64"}
    assert rebuild_check.required_traits(spec(image)) == ["COMPUTE_ARCH_AARCH64"]
    assert rebuild_check.host_refusal(host(), X86_TRAITS, spec(image)) is None
    why = rebuild_check.host_refusal(host(), {"HW_ARCH_X86_64"}, spec(image))
    assert why == "its host h1 lacks the trait(s) COMPUTE_ARCH_AARCH64 it needs"


def test_too_few_address_bits_fail_the_maxphysaddr_filter() -> None:
    image = {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "48"}
    why = rebuild_check.host_refusal(host(), X86_TRAITS, spec(image))
    assert why == (
        "its host h1 fails the maxphysaddr filter (hosts that have fewer than 48 physical "
        "address bits)"
    )
    fine = {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "40"}
    assert rebuild_check.host_refusal(host(), X86_TRAITS, spec(fine)) is None
