"""HostInfo + configuration -> HostReport."""

from __future__ import annotations

import dataclasses

import pytest

from support.fake_driver import host_info
from virtfleet import conf as vconf
from virtfleet.agent import report


@pytest.fixture
def conf():  # type: ignore[no-untyped-def]
    return vconf.make_conf(
        cpu_allocation_ratio=8.0,
        ram_allocation_ratio=1.5,
        disk_allocation_ratio=1.0,
        reserved_host_cpus=2,
        reserved_host_memory_mb=1024,
        reserved_host_disk_mb=1500,
    )


def test_root_inventories_carry_ratios_and_reservations(conf) -> None:  # type: ignore[no-untyped-def]
    built = report.build_report(conf, "kvm-1", host_info())
    root = built.root
    assert root.name == "kvm-1"
    assert root.parent_name is None
    inv = {rc: i.as_dict() for rc, i in root.inventories.items()}
    assert inv["VCPU"] == dict(
        total=16, reserved=2, min_unit=1, max_unit=16, step_size=1, allocation_ratio=8.0
    )
    assert inv["MEMORY_MB"]["reserved"] == 1024
    assert inv["MEMORY_MB"]["allocation_ratio"] == 1.5
    assert inv["DISK_GB"]["reserved"] == 2  # 1500 MiB rounds up to 2 GiB
    assert root.traits == {"HW_ARCH_X86_64", "COMPUTE_ARCH_X86_64", "COMPUTE_ARCH_AARCH64"}


def test_report_carries_compute_node_facts_and_cpu_info(conf) -> None:  # type: ignore[no-untyped-def]
    built = report.build_report(conf, "kvm-1", host_info())
    assert (built.host, built.hypervisor_hostname) == ("kvm-1", "kvm-1.example")
    assert (built.hypervisor_type, built.hypervisor_version) == ("QEMU", 8_002_000)
    assert (built.vcpus, built.memory_mb, built.local_gb) == (16, 32768, 200)
    cpu = built.cpu_info
    assert cpu.arch == "x86_64"
    assert cpu.native_arches == ["i686", "x86_64"]
    assert cpu.emulated_arches == ["aarch64"]
    assert (cpu.libvirt_version, cpu.qemu_version) == ("9.0.0", "8.2.0")
    assert cpu.maxphysaddr_bits == 46
    assert cpu.machine_types == {"x86_64": ["pc", "q35"], "aarch64": ["virt"]}


def test_reserved_never_exceeds_total_and_empty_classes_are_left_out(conf) -> None:  # type: ignore[no-untyped-def]
    built = report.build_report(conf, "tiny", host_info(memory_mb=512, disk_gb=0))
    inv = built.root.inventories
    assert inv["MEMORY_MB"].reserved == 512
    assert "DISK_GB" not in inv


def test_sliced_host_reports_no_root_resources_but_children(conf) -> None:  # type: ignore[no-untyped-def]
    @dataclasses.dataclass
    class Child:
        name: str
        parent_name: str | None
        inventories: dict[str, object]
        traits: tuple[str, ...] = ()

    children = [
        Child("slice8", None, {"CUSTOM_SLICE_8": 1}, ("CUSTOM_SLICE",)),
        Child("slice4a", "slice8", {"CUSTOM_SLICE_4": {"total": 1, "max_unit": 1}}),
    ]
    built = report.build_report(conf, "s1", host_info(), nested=children, root_resources=False)
    assert built.root.inventories == {}
    by_name = {p.name: p for p in built.providers}
    assert by_name["slice8"].parent_name == "s1"
    assert by_name["slice4a"].parent_name == "slice8"
    assert by_name["slice8"].inventories["CUSTOM_SLICE_8"].total == 1
    assert by_name["slice8"].traits == {"CUSTOM_SLICE"}


@pytest.mark.parametrize(
    ("value", "encoded", "text"),
    [
        ("8.2.0", 8_002_000, "8.2.0"),
        ((9, 0), 9_000_000, "9.0.0"),
        (10_001_002, 10_001_002, "10.1.2"),
    ],
)
def test_versions(value: object, encoded: int, text: str) -> None:
    assert report.version_int(value) == encoded
    assert report.version_str(value) == text
