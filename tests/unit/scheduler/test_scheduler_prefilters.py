"""The guest request's architectures and maxphysaddr mode, and the image's device
properties -> required root traits. Guest requests are resolved from image properties
and extra specs as the Compute API does (tests.support.guest)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from support.guest import guest_request
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.scheduler.prefilters import request_constraints
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

CONF = make_conf()


def root_traits(image: Mapping[str, object] | None = None, /, **extra_specs: str) -> frozenset[str]:
    spec = RequestSpec(
        "inst",
        "proj",
        "user",
        FlavorSpec(vcpus=1, memory_mb=1024, root_gb=1, extra_specs=extra_specs),
        image_properties=image or {},
        guest=guest_request(image, extra_specs),
    )
    return request_constraints(spec, CONF).root_required


def guest_traits(guest: GuestRequest, image: Mapping[str, object] | None = None) -> frozenset[str]:
    flavor = FlavorSpec(vcpus=1, memory_mb=1024)
    spec = RequestSpec("i", "p", "u", flavor, image_properties=image or {}, guest=guest)
    return request_constraints(spec, CONF).root_required


def test_the_prefilters_read_the_guest_request_not_the_raw_properties() -> None:
    raw = {"hw_architecture": "x86_64", "hw_maxphysaddr_mode": "passthrough"}
    assert guest_traits(GuestRequest(), raw) == frozenset()
    emulated = GuestRequest(arch="s390x", emulated=True, maxphysaddr_mode="passthrough")
    assert guest_traits(emulated, raw) == {
        "COMPUTE_ARCH_S390X",
        "COMPUTE_ADDRESS_SPACE_PASSTHROUGH",
    }
    native = GuestRequest(arch="aarch64", native_arch="aarch64")
    assert guest_traits(native) == {"HW_ARCH_AARCH64"}


@pytest.mark.parametrize(
    ("prop", "value", "trait"),
    [
        ("hw_architecture", "x86_64", "HW_ARCH_X86_64"),
        ("hw_architecture", "AMD64", "HW_ARCH_X86_64"),
        ("hw_architecture", "armv7l", "HW_ARCH_ARMV7"),
        ("hw_emulation_architecture", "aarch64", "COMPUTE_ARCH_AARCH64"),
        ("hw_emulation_architecture", "riscv64", "COMPUTE_ARCH_RISCV64"),
        ("hw_emulation_architecture", "ppc64el", "COMPUTE_ARCH_PPC64LE"),
        ("hw_disk_bus", "virtio", "COMPUTE_STORAGE_BUS_VIRTIO"),
        ("hw_cdrom_bus", "sata", "COMPUTE_STORAGE_BUS_SATA"),
        ("hw_video_model", "qxl", "COMPUTE_GRAPHICS_MODEL_QXL"),
        ("hw_vif_model", "e1000e", "COMPUTE_NET_VIF_MODEL_E1000E"),
        ("hw_vif_model", "spapr-vlan", "COMPUTE_NET_VIF_MODEL_SPAPR_VLAN"),
    ],
)
def test_image_property_requires_its_trait_on_the_root(prop: str, value: str, trait: str) -> None:
    assert root_traits({prop: value}) == {trait}


def test_several_properties_add_up() -> None:
    image = {"hw_architecture": "x86_64", "hw_emulation_architecture": "s390x"}
    assert root_traits(image) == {"HW_ARCH_X86_64", "COMPUTE_ARCH_S390X"}


def test_unrelated_properties_add_nothing() -> None:
    assert root_traits({"os_distro": "debian", "hw_machine_type": "q35"}) == frozenset()


@pytest.mark.parametrize(
    ("prop", "value", "missing"),
    [
        ("hw_emulation_architecture", "mips", "COMPUTE_ARCH_MIPS"),
        ("hw_architecture", "riscv64", "HW_ARCH_RISCV64"),
        ("hw_video_model", "ramfb", "COMPUTE_GRAPHICS_MODEL_RAMFB"),
        ("hw_vif_model", "smc91c111", "COMPUTE_NET_VIF_MODEL_SMC91C111"),
        ("hw_disk_bus", "nvme", "COMPUTE_STORAGE_BUS_NVME"),
    ],
)
def test_value_without_a_trait_is_invalid_input_never_dropped(
    prop: str, value: str, missing: str
) -> None:
    with pytest.raises(errors.InvalidInput) as info:
        root_traits({prop: value})
    assert prop in info.value.message
    assert missing in info.value.message


def test_unknown_architecture_is_invalid_input_naming_the_property() -> None:
    with pytest.raises(errors.InvalidInput, match=r"hw_emulation_architecture.*sparc9"):
        root_traits({"hw_emulation_architecture": "sparc9"})


def test_prefilter_can_be_switched_off() -> None:
    spec = RequestSpec(
        "i",
        "p",
        "u",
        FlavorSpec(vcpus=1, memory_mb=512),
        image_properties={"hw_video_model": "ramfb"},
    )
    conf = make_conf(scheduler__image_metadata_prefilter=False)
    assert request_constraints(spec, conf).root_required == frozenset()


def test_maxphysaddr_emulate_from_flavor() -> None:
    traits = root_traits(**{"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"})
    assert traits == {"COMPUTE_ADDRESS_SPACE_EMULATED"}


def test_maxphysaddr_passthrough_from_image() -> None:
    traits = root_traits({"hw_maxphysaddr_mode": "passthrough"})
    assert traits == {"COMPUTE_ADDRESS_SPACE_PASSTHROUGH"}


def test_maxphysaddr_flavor_and_image_agreeing_is_fine() -> None:
    image = {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "42"}
    specs = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"}
    assert root_traits(image, **specs) == {"COMPUTE_ADDRESS_SPACE_EMULATED"}
