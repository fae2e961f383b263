"""Whatever the APIs accept as flavor extra specs and image properties, a boot request
and a scheduler explanation with them answer below 500 (checks that run only at boot,
such as maxphysaddr against the flavor's RAM or the image's architecture, included)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tests.e2e.robustness.checks import FUZZ, error_message

from support.fuzz_cloud import FuzzCloud

C = "/compute/v2.1"
SPECS = st.fixed_dictionaries(
    {},
    optional={
        "hw:maxphysaddr_mode": st.sampled_from(["emulate", "passthrough"]),
        "hw:maxphysaddr_bits": st.sampled_from(["1", "31", "32", "40", "52"]),
        "hw:cpu_policy": st.sampled_from(["shared", "dedicated", "mixed"]),
        "hw:mem_page_size": st.sampled_from(["small", "large", "any", "2MB", "1GB", "4"]),
        "resources:VCPU": st.sampled_from(["0", "1", "64", "2147483648", "99999999999999999999"]),
        "resources:MEMORY_MB": st.sampled_from(["0", "128"]),
        "resources:DISK_GB": st.sampled_from(["0", "1"]),
        "resources1:CUSTOM_FUZZ": st.sampled_from(["1", "2"]),
        "resources2:VCPU": st.just("1"),
        "trait:HW_CPU_X86_AVX2": st.sampled_from(["required", "forbidden"]),
        "trait1:CUSTOM_NOT_THERE": st.sampled_from(["required", "forbidden"]),
        "group_policy": st.sampled_from(["none", "isolate"]),
        "same_subtree": st.sampled_from(["1,2", "1", "1,3"]),
    },
)
PROPERTIES = st.fixed_dictionaries(
    {},
    optional={
        "hw_architecture": st.sampled_from(["x86_64", "aarch64", "s390x", "i686", "amd64"]),
        "hw_emulation_architecture": st.sampled_from(["aarch64", "riscv64", "x86_64"]),
        "hw_machine_type": st.sampled_from(["q35", "pc", "virt", "isapc", "s390-ccw-virtio"]),
        "hw_firmware_type": st.sampled_from(["bios", "uefi"]),
        "hw_maxphysaddr_mode": st.sampled_from(["emulate", "passthrough"]),
        "hw_maxphysaddr_bits": st.sampled_from(["32", "46", "52"]),
        "hw_video_model": st.sampled_from(["virtio", "none", "cirrus"]),
        "os_command_line": st.just("console=ttyS0"),
    },
)


@FUZZ
@given(
    specs=SPECS,
    properties=PROPERTIES,
    ram=st.sampled_from([64, 512, 65536, 2**31 - 1]),
    vcpus=st.sampled_from([1, 8, 2**31 - 1]),
)
def test_accepted_specs_and_properties_boot_or_refuse_cleanly(
    cloud: FuzzCloud, specs: dict[str, str], properties: dict[str, str], ram: int, vcpus: int
) -> None:
    flavor = cloud.call(
        "POST", f"{C}/flavors", {"flavor": {"name": "combo", "ram": ram, "vcpus": vcpus}}
    )
    assert flavor.status == 200, flavor.body
    flavor_id = flavor.json()["flavor"]["id"]
    image = cloud.call("POST", "/image/v2/images", {"name": "combo", **properties})
    created: list[str] = []
    try:
        specs_reply = cloud.call(
            "POST", f"{C}/flavors/{flavor_id}/os-extra_specs", {"extra_specs": specs}
        )
        error_message(specs_reply, f"{C}/flavors")
        error_message(image, "/image/v2/images")
        if specs_reply.status != 200 or image.status != 201:
            return
        image_id = image.json()["id"]
        refs: dict[str, Any] = {"flavorRef": flavor_id, "imageRef": image_id}
        explained = cloud.call("POST", f"{C}/os-scheduler-explain", {"explain": refs})
        error_message(explained, f"{C}/os-scheduler-explain")
        booted = cloud.call("POST", f"{C}/servers", {"server": {"name": "combo", **refs}})
        error_message(booted, f"{C}/servers")
        if booted.status == 202:
            created.append(booted.json()["server"]["id"])
    finally:
        for server_id in created:
            cloud.call("DELETE", f"{C}/servers/{server_id}")
        if image.status == 201:
            cloud.call("DELETE", f"/image/v2/images/{image.json()['id']}")
        cloud.call("DELETE", f"{C}/flavors/{flavor_id}")
