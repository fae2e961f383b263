"""RPC objects of the agent/conductor seam: round trips through the transport, field
validation, and fingerprints that fail when fields change without a version bump."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest

import virtfleet.objects.rpc_results  # noqa: F401  registers the RPC result objects
from virtfleet.objects.base import VirtfleetObjectRegistry
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.host_report import (
    HostCPUInfo,
    HostReport,
    ReportedInventory,
    ReportedProvider,
)
from virtfleet.objects.image_data import ImageData
from virtfleet.objects.instance import InstanceSpec
from virtfleet.objects.rescue_device import RescueDevice
from virtfleet.objects.vif import GuestVif
from virtfleet.rpc.transport import LocalTransport


def _version_checker() -> Any:
    """oslo.versionedobjects' ObjectVersionChecker. Its module imports ``fixtures``
    (not installed here) only for fixtures this test does not use; a stand-in lets the
    checker itself load."""
    try:
        import fixtures  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("fixtures")
        stand_in.Fixture = object  # type: ignore[attr-defined]
        stand_in.MonkeyPatch = object  # type: ignore[attr-defined]
        sys.modules["fixtures"] = stand_in
    from oslo_versionedobjects import fixture

    return fixture.ObjectVersionChecker(VirtfleetObjectRegistry.obj_classes())


# Bump the object's VERSION (with a history line and obj_make_compatible) and then the
# hash here whenever a test below fails.
EXPECTED_FINGERPRINTS = {
    "GuestNic": "1.0-68f718558a2f4d3108e37059bfe2f41b",
    "GuestRequest": "1.0-f148647aa18c51af16854241656bf2ab",
    "GuestWhereabouts": "1.0-b6cf61f1decf7f7bea730ba573ec37fe",
    "HostReportReceipt": "1.0-551ac511aecceda0f003c1bcb0354237",
    "MigrationProgress": "1.0-eb1671b26ede03946ced57b8159ef7b1",
    "OrphanDomain": "1.0-8e3c8914483c39fe22dda6476bf62355",
    "EvacuatedGuest": "1.0-6ff16b446f8fd5f67cb9a66e61dad269",
    "HostCPUInfo": "1.0-bfffedcea3aab72f40551162c4c60a17",
    "HostReport": "1.1-d0149c8cd29a72e5c4b22cfca9d779f4",
    "GuestVif": "1.2-5aa2da371b521a641f3886eae005518d",
    "GuestSubnet": "1.1-ba226f9ae3279030dc5c33e7653c2603",
    "GuestRule": "1.0-0b09f90a00b3c579f7c292ce598bcf24",
    "ImageData": "1.0-94672568e2775501c9f5fdc1bb17fbab",
    "InstanceSpec": "1.4-fb5c59969ed240646e67a691b6ae6146",
    "ReportedInventory": "1.0-ed6bd6585012c57e1457f4b9511d7fd3",
    "ReportedProvider": "1.0-0eb78aacdbaf380340ee77d0d47d8cc9",
    "RescueDevice": "1.0-929ea07ccaa34747c350ebfd16cf9c1e",
}


def test_fingerprints_pin_the_fields() -> None:
    checker = _version_checker()
    hashes = checker.get_hashes()
    ours = {name: hashes[name] for name in EXPECTED_FINGERPRINTS}
    assert ours == EXPECTED_FINGERPRINTS


def make_report() -> HostReport:
    inventory = ReportedInventory(
        total=16, reserved=1, min_unit=1, max_unit=16, step_size=1, allocation_ratio=4.0
    )
    return HostReport(
        host="kvm-1",
        hypervisor_hostname="kvm-1.example",
        hypervisor_type="QEMU",
        hypervisor_version=8_002_000,
        vcpus=16,
        memory_mb=32768,
        local_gb=100,
        cpu_info=HostCPUInfo(
            arch="x86_64",
            native_arches=["i686", "x86_64"],
            emulated_arches=["aarch64"],
            maxphysaddr_bits=46,
            cpu_mode="host-model",
            cpu_model="EPYC-Rome",
            libvirt_version="9.0.0",
            qemu_version="8.2.0",
            machine_types={"x86_64": ["pc", "q35"], "aarch64": ["virt"]},
        ),
        providers=[
            ReportedProvider(
                name="kvm-1",
                uuid=None,
                parent_name=None,
                inventories={"VCPU": inventory},
                traits={"HW_ARCH_X86_64", "COMPUTE_ARCH_AARCH64"},
            ),
            ReportedProvider(
                name="gpu0",
                uuid="7d6c5a63-4b7e-4c80-a6d2-1e0a8f9b2c11",
                parent_name="kvm-1",
                inventories={},
                traits=set(),
            ),
        ],
    )


def make_instance() -> InstanceSpec:
    return InstanceSpec(
        uuid="0f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44",
        name="vm1",
        flavor_name="m1.small",
        vcpus=2,
        memory_mb=2048,
        root_gb=10,
        extra_specs={"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"},
        image_id="c3a1b7de-8f0e-4a0b-b7f1-0a5b9e2d6c77",
        image_properties={"hw_emulation_architecture": "aarch64"},
        image_path="/data/images/c3a1",
        image_format="raw",
        kernel_path=None,
        ramdisk_path=None,
        kernel_cmdline=None,
        metadata={"owner": "<alice & bob>"},
        allocations={"rp-1": {"VCPU": 2, "MEMORY_MB": 2048}},
        guest_request=GuestRequest(
            arch="aarch64", emulated=True, maxphysaddr_mode="emulate", maxphysaddr_bits=42
        ),
    )


def plain(value: Any) -> Any:
    """An object's fields as primitives, without change tracking (which the wire
    resets, so it differs between a sent object and the received one)."""
    if hasattr(value, "obj_to_primitive"):
        value = value.obj_to_primitive()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not k.endswith(".changes")}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class Echo:
    """An endpoint that hands back what it received, to see the wire's effect."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    def echo(self, value: Any) -> Any:
        self.received.append(value)
        return value


@pytest.mark.parametrize("factory", [make_report, make_instance])
def test_objects_round_trip_through_the_transport(factory: Any) -> None:
    transport = LocalTransport()
    endpoint = Echo()
    transport.serve("test", "server", endpoint)
    try:
        original = factory()
        back = transport.call("test", "server", "echo", value=original)
    finally:
        transport.close()
    received = endpoint.received[0]
    assert received is not original
    assert type(received) is type(original)
    assert plain(received) == plain(original)
    assert plain(back) == plain(original)
    changed = factory()
    changed.vcpus = 99
    assert plain(back) != plain(changed)  # the comparison does see field values


def test_report_root_and_nested_survive_the_wire() -> None:
    transport = LocalTransport()
    transport.serve("test", "server", Echo())
    try:
        back = transport.call("test", "server", "echo", value=make_report())
    finally:
        transport.close()
    assert back.root.name == "kvm-1"
    assert back.root.inventories["VCPU"].allocation_ratio == 4.0
    assert back.providers[1].parent_name == "kvm-1"
    assert back.cpu_info.machine_types["aarch64"] == ["virt"]
    assert back.cpu_info.maxphysaddr_bits == 46


def test_report_without_a_single_root_is_refused() -> None:
    from virtfleet import errors

    report = make_report()
    report.providers = [p for p in report.providers if p.parent_name is not None]
    with pytest.raises(errors.InvalidInput, match="exactly one root provider, has 0"):
        _ = report.root


@pytest.mark.parametrize(
    ("field", "value"),
    [("vcpus", -1), ("memory_mb", "lots"), ("extra_specs", ["not", "a", "dict"])],
)
def test_instance_spec_rejects_bad_field_values(field: str, value: object) -> None:
    spec = make_instance()
    with pytest.raises(ValueError):
        setattr(spec, field, value)


def test_unset_fields_take_their_defaults() -> None:
    inventory = ReportedInventory(total=4)
    assert (inventory.reserved, inventory.min_unit, inventory.step_size) == (0, 1, 1)
    assert inventory.allocation_ratio == 1.0
    assert not inventory.obj_attr_is_set("max_unit")  # no default: must be given
    provider = ReportedProvider(name="p")
    assert (provider.uuid, provider.parent_name, provider.inventories) == (None, None, {})
    spec = InstanceSpec(uuid="0f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44", name="x", vcpus=1, memory_mb=1)
    assert (spec.image_path, spec.image_format, spec.allocations) == (None, "qcow2", None)


def test_negative_inventory_is_refused() -> None:
    with pytest.raises(ValueError):
        ReportedInventory(total=-1)


def test_instance_spec_carries_the_guest_request_and_drops_it_for_a_1_0_agent() -> None:
    spec = make_instance()
    current = spec.obj_to_primitive()["virtfleet_object.data"]
    assert current["guest_request"]["virtfleet_object.data"]["arch"] == "aarch64"
    old = spec.obj_to_primitive(target_version="1.0")["virtfleet_object.data"]
    assert "guest_request" not in old
    assert old["image_properties"] == {"hw_emulation_architecture": "aarch64"}  # what 1.0 reads


def test_instance_spec_carries_vifs_and_drops_them_for_a_1_1_agent() -> None:
    vif = GuestVif(
        port_id="p1",
        network_id="n1",
        mac_address="fa:16:3e:00:00:01",
        mtu=1450,
        network_type="vxlan",
        segmentation_id=7,
        fixed_ips=["192.0.2.5"],
        security_group_ids=["sg"],
    )
    spec = make_instance()
    spec.vifs = [vif]
    received = InstanceSpec.obj_from_primitive(json.loads(json.dumps(spec.obj_to_primitive())))
    assert received.vifs[0].mac_address == "fa:16:3e:00:00:01"
    assert received.vifs[0].physical_network is None and received.vifs[0].segmentation_id == 7
    old = spec.obj_to_primitive(target_version="1.1")["virtfleet_object.data"]
    assert "vifs" not in old and "guest_request" in old


def test_instance_spec_carries_image_data_and_drops_it_for_a_1_2_agent() -> None:
    spec = make_instance()
    spec.image_data = ImageData(
        image_id="c3a1", size=4096, checksum="m" * 32, os_hash_algo="sha512",
        os_hash_value="s" * 128, disk_format="raw",
    )  # fmt: skip
    received = InstanceSpec.obj_from_primitive(json.loads(json.dumps(spec.obj_to_primitive())))
    assert received.image_data == spec.image_data
    assert (received.kernel_data, received.ramdisk_data) == (None, None)
    old = spec.obj_to_primitive(target_version="1.2")["virtfleet_object.data"]
    assert "image_data" not in old and "vifs" in old


def test_image_data_refuses_a_negative_size() -> None:
    with pytest.raises(ValueError):
        ImageData(image_id="i", size=-1)


def test_a_rescue_device_round_trips_and_refuses_unknown_values() -> None:
    sent = RescueDevice(device="cdrom", bus="sata")
    received = RescueDevice.obj_from_primitive(json.loads(json.dumps(sent.obj_to_primitive())))
    assert (received.device, received.bus) == ("cdrom", "sata")
    with pytest.raises(ValueError):
        RescueDevice(device="tape", bus="sata")
    with pytest.raises(ValueError):
        RescueDevice(device="disk", bus="pci")
