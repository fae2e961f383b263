"""The guest request: resolved once from flavor + image (each field, each error),
immutable, and unchanged by the RPC wire and by storage."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from virtfleet import errors
from virtfleet.objects.guest_request import GuestRequest, MaxPhysAddr
from virtfleet.objects.guest_resolution import BootPair, resolve_guest_request
from virtfleet.rpc.transport import LocalTransport
from virtfleet.virt import arch as virt_arch


def resolve(
    specs: Mapping[str, str] | None = None,
    props: Mapping[str, object] | None = None,
    memory_mb: int = 2048,
) -> GuestRequest:
    pair = BootPair(
        flavor_name="m1",
        memory_mb=memory_mb,
        extra_specs=dict(specs or {}),
        image_id="img",
        image_properties=dict(props or {}),
    )
    return resolve_guest_request(pair, virt_arch.canonicalize)


def test_nothing_asked_is_the_hosts_own_guest() -> None:
    guest = resolve()
    assert (guest.arch, guest.emulated, guest.native_arch) == (None, False, None)
    assert (guest.machine_type, guest.firmware, guest.maxphysaddr) == (None, None, None)
    assert (guest.slice_request, guest.vgpus, guest.nics, guest.config_drive) == ({}, 0, [], False)


@pytest.mark.parametrize(
    ("props", "arch", "emulated", "native"),
    [
        ({"hw_architecture": "x86_64"}, "x86_64", False, "x86_64"),
        ({"hw_architecture": "arm64"}, "aarch64", False, "aarch64"),  # canonical name
        ({"hw_emulation_architecture": "s390x"}, "s390x", True, None),
        (
            {"hw_architecture": "x86_64", "hw_emulation_architecture": "aarch64"},
            "aarch64",
            True,
            "x86_64",
        ),
        ({"hw_architecture": ""}, None, False, None),  # empty is unset
    ],
)
def test_arch_emulation_arch_first(
    props: dict[str, str], arch: str | None, emulated: bool, native: str | None
) -> None:
    guest = resolve(props=props)
    assert (guest.arch, guest.emulated, guest.native_arch) == (arch, emulated, native)


@pytest.mark.parametrize(
    ("props", "default", "arch", "native"),
    [
        ({"architecture": "aarch64"}, None, "aarch64", "aarch64"),  # Glance's name, inferred
        ({"architecture": "aarch64"}, "x86_64", "aarch64", "aarch64"),  # beats the default
        ({"architecture": "aarch64", "hw_architecture": "ppc64le"}, None, "ppc64le", "ppc64le"),
        ({"architecture": "x86_64", "hw_emulation_architecture": "s390x"}, None, "s390x", None),
        ({}, "x86_64", "x86_64", "x86_64"),  # [scheduler] image_properties_default_architecture
        ({}, "arm64", "aarch64", "aarch64"),
        ({"hw_emulation_architecture": "s390x"}, "x86_64", "s390x", None),
    ],
    ids=[
        "architecture",
        "architecture-over-default",
        "hw-architecture-wins",
        "emulation-ignores-architecture",
        "default",
        "default-canonical",
        "emulation-ignores-default",
    ],
)
def test_an_image_naming_no_hw_arch_uses_architecture_then_the_default(
    props: dict[str, str], default: str | None, arch: str, native: str | None
) -> None:
    pair = BootPair("m1", 2048, image_id="img", image_properties=props, default_arch=default)
    guest = resolve_guest_request(pair, virt_arch.canonicalize)
    assert (guest.arch, guest.native_arch) == (arch, native)


def test_machine_type_and_firmware_as_the_image_asks() -> None:
    guest = resolve(props={"hw_machine_type": "q35", "hw_firmware_type": "uefi"})
    assert (guest.machine_type, guest.firmware) == ("q35", "uefi")


@pytest.mark.parametrize(
    ("specs", "props", "expected"),
    [
        (
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"},
            {},
            MaxPhysAddr("emulate", 42),
        ),
        (
            {},
            {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "40"},
            MaxPhysAddr("emulate", 40),
        ),
        (
            {"hw:maxphysaddr_mode": "passthrough"},
            {"hw_maxphysaddr_mode": "passthrough"},
            MaxPhysAddr("passthrough", None),
        ),
        (
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "44"},
            {"hw_maxphysaddr_bits": "44"},
            MaxPhysAddr("emulate", 44),
        ),
    ],
)
def test_maxphysaddr_from_flavor_image_or_both(
    specs: dict[str, str], props: dict[str, str], expected: MaxPhysAddr
) -> None:
    guest = resolve(specs, props)
    assert guest.maxphysaddr == expected
    assert (guest.maxphysaddr_mode, guest.maxphysaddr_bits) == (expected.mode, expected.bits)


def test_slices_and_vgpus_over_every_request_group() -> None:
    guest = resolve(
        {
            "resources:CUSTOM_SLICE_4": "1",
            "resources:CUSTOM_SLICE_1": "4",
            "resources1:CUSTOM_SLICE_1": "2",
            "resources:CUSTOM_GONE": "0",
            "resources:VGPU": "1",
            "resources2:VGPU": "2",
            "resources:VCPU": "0",
        }
    )
    assert guest.slice_request == {"CUSTOM_SLICE_4": 1, "CUSTOM_SLICE_1": 6}
    assert guest.vgpus == 3


@pytest.mark.parametrize(
    ("specs", "props", "memory_mb", "message"),
    [
        (
            {},
            {"hw_architecture": "vax"},
            2048,
            "Invalid image property hw_architecture: unknown architecture 'vax'",
        ),
        (
            {},
            {"hw_emulation_architecture": "pdp11"},
            2048,
            "Invalid image property hw_emulation_architecture: unknown",
        ),
        (
            {},
            {"hw_firmware_type": "coreboot"},
            2048,
            "hw_firmware_type='coreboot': expected one of bios, uefi",
        ),
        (
            {"hw:maxphysaddr_mode": "bogus"},
            {},
            2048,
            "hw:maxphysaddr_mode='bogus': expected one of emulate",
        ),
        (
            {"hw:maxphysaddr_mode": "emulate"},
            {},
            2048,
            "hw:maxphysaddr_bits: maxphysaddr mode=emulate requires",
        ),
        (
            {},
            {"hw_maxphysaddr_mode": "emulate"},
            2048,
            "flavor m1 with image img: maxphysaddr mode=emulate requires maxphysaddr bits",
        ),
        ({"hw:maxphysaddr_bits": "40"}, {}, 2048, "bits=40 needs maxphysaddr mode=emulate"),
        (
            {"hw:maxphysaddr_mode": "passthrough"},
            {"hw_maxphysaddr_bits": "40"},
            2048,
            "passthrough takes the host's bits",
        ),
        (
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "32"},
            {},
            8192,
            "8192 MiB of RAM needs at least 34 physical address bits",
        ),
        (
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"},
            {"hw_maxphysaddr_mode": "passthrough"},
            2048,
            "Flavor m1 sets hw:maxphysaddr_mode=emulate but image img sets "
            "hw_maxphysaddr_mode=passthrough; they must agree.",
        ),
        (
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"},
            {"hw_maxphysaddr_bits": "40"},
            2048,
            "hw:maxphysaddr_bits=42 but image img sets hw_maxphysaddr_bits=40",
        ),
        (
            {},
            {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "x"},
            2048,
            "hw_maxphysaddr_bits='x': expected an integer from 32 to 52",
        ),
        (
            {"hw:maxphysaddr_mode": "passthrough"},
            {"hw_emulation_architecture": "aarch64"},
            2048,
            "maxphysaddr mode=passthrough is only supported for x86_64 guests, not aarch64",
        ),
        ({"resources:VGPU": "-1"}, {}, 2048, "resources:VGPU='-1'"),
    ],
)
def test_each_error_names_what_is_wrong(
    specs: dict[str, str], props: dict[str, str], memory_mb: int, message: str
) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        resolve(specs, props, memory_mb)
    assert message in caught.value.message


def test_a_guest_request_is_immutable() -> None:
    guest = resolve(props={"hw_emulation_architecture": "aarch64"})
    with pytest.raises(AttributeError, match="immutable"):
        guest.arch = "x86_64"
    with pytest.raises(AttributeError, match="immutable"):
        guest.emulated = False
    assert guest.arch == "aarch64"


def test_storage_and_the_wire_keep_it_unchanged_and_immutable() -> None:
    guest = resolve(
        {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42", "resources:VGPU": "1"},
        {"hw_architecture": "x86_64", "hw_machine_type": "q35", "hw_firmware_type": "bios"},
    )
    stored = GuestRequest.from_primitive(json.loads(json.dumps(guest.to_primitive())))
    assert stored == guest and hash(stored) == hash(guest)
    transport = LocalTransport()
    transport.serve("test", "server", _Echo())
    try:
        back = transport.call("test", "server", "echo", value=guest)
    finally:
        transport.close()
    assert isinstance(back, GuestRequest) and back is not guest
    assert back == guest
    with pytest.raises(AttributeError, match="immutable"):
        back.maxphysaddr_bits = 48


def test_equal_stored_requests_are_built_once_and_shared() -> None:
    guest = resolve(props={"hw_architecture": "x86_64", "hw_machine_type": "q35"})
    first = GuestRequest.from_primitive(json.loads(json.dumps(guest.to_primitive())))
    again = GuestRequest.from_primitive(json.loads(json.dumps(guest.to_primitive())))
    assert again is first and first == guest  # shared: immutable, so safe
    with pytest.raises(AttributeError, match="immutable"):
        again.machine_type = "pc"
    other = resolve(props={"hw_architecture": "x86_64", "hw_machine_type": "pc"})
    built = GuestRequest.from_primitive(other.to_primitive())
    assert built is not first and built.machine_type == "pc"


def test_equal_requests_hash_alike_and_differ_by_any_field() -> None:
    assert resolve() == resolve() and hash(resolve()) == hash(resolve())
    assert resolve(props={"hw_machine_type": "q35"}) != resolve()
    assert hash(resolve(props={"hw_machine_type": "q35"})) != hash(resolve())


def test_field_values_are_checked() -> None:
    with pytest.raises(ValueError):
        GuestRequest(firmware="coreboot")
    with pytest.raises(ValueError):
        GuestRequest(vgpus=-1)


class _Echo:
    def echo(self, value: object) -> object:
        return value
