"""Host discovery from the reference capabilities: arches, versions, NUMA and traits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from support.virt_fakes import BareConnection, CoreConnection, FakeConnection, RealLikeConnection
from virtfleet.conf import make_conf
from virtfleet.virt.libvirt import host
from virtfleet.virt.libvirt.traits import TraitFacts, host_traits
from virtfleet.virt.types import HostInfo, NumaCell

EMULATED_ON_X86 = (
    "aarch64", "armv6l", "armv7l", "mips", "mips64", "mips64el", "mipsel", "ppc64", "ppc64le",
    "riscv32", "riscv64", "s390x",
)  # fmt: skip


def discover(conn: CoreConnection, tmp_path: Path, **overrides: Any) -> HostInfo:
    conf = make_conf(data_dir=str(tmp_path), **overrides)
    return host.discover(conn, conf)


def test_x86_host_from_reference_capabilities(tmp_path: Path) -> None:
    info = discover(FakeConnection(), tmp_path, libvirt__virt_type="qemu")
    assert info.arch == "x86_64"
    assert info.hostname == "fakehost"
    assert (info.vcpus, info.memory_mb, info.disk_gb) == (2, 5210, 500)
    assert info.numa_cells == (NumaCell(id=0, cpus=(0, 1), memory_mb=5850),)
    assert (info.libvirt_version, info.qemu_version, info.hypervisor_type) == (
        9_000_000,
        7_002_022,
        "QEMU",
    )
    assert (info.cpu_model, info.cpu_vendor, info.maxphysaddr_bits) == ("kvm64", "AMD", 48)
    assert info.native_arches == ("i686", "x86_64")
    assert info.emulated_arches == EMULATED_ON_X86
    assert info.kvm_arches == ("i686", "x86_64")
    assert "q35" in info.machine_types["x86_64"]
    assert "s390-ccw-virtio" in info.machine_types["s390x"]
    assert info.emulators["aarch64"] == "/usr/bin/qemu-system-aarch64"
    assert info.uefi_arches == ("aarch64",)  # the aarch64 reference lists efi firmware
    assert "alpha" not in info.runnable_arches  # not in the arch table: skipped


def test_x86_host_traits(tmp_path: Path) -> None:
    traits = discover(FakeConnection(), tmp_path, libvirt__virt_type="qemu").traits
    assert {
        "COMPUTE_NODE", "HW_ARCH_X86_64", "HW_ARCH_I686", "COMPUTE_ARCH_X86_64",
        "COMPUTE_ARCH_AARCH64",
        "COMPUTE_ARCH_PPC64LE", "COMPUTE_ARCH_S390X", "COMPUTE_ARCH_RISCV64",
        "COMPUTE_ARCH_MIPSEL", "COMPUTE_ADDRESS_SPACE_EMULATED", "COMPUTE_FIRMWARE_BIOS",
        "COMPUTE_STORAGE_BUS_VIRTIO", "COMPUTE_STORAGE_BUS_SATA", "COMPUTE_STORAGE_BUS_IDE",
        "COMPUTE_GRAPHICS_MODEL_VIRTIO", "COMPUTE_GRAPHICS_MODEL_NONE",
        "COMPUTE_NET_VIF_MODEL_VIRTIO", "COMPUTE_NET_VIF_MODEL_E1000",
    } <= traits  # fmt: skip
    assert "COMPUTE_ADDRESS_SPACE_PASSTHROUGH" not in traits  # cpu_mode is not passthrough
    assert "HW_ARCH_AARCH64" not in traits
    assert "COMPUTE_FIRMWARE_UEFI" not in traits  # no UEFI for the host arch


def test_passthrough_trait_needs_host_passthrough_cpu_mode(tmp_path: Path) -> None:
    info = discover(FakeConnection(), tmp_path, libvirt__cpu_mode="host-passthrough")
    assert info.cpu_mode == "host-passthrough"
    assert {"COMPUTE_ADDRESS_SPACE_EMULATED", "COMPUTE_ADDRESS_SPACE_PASSTHROUGH"} <= info.traits


@pytest.mark.parametrize(
    ("lib_version", "qemu_version", "expected"),
    [
        (8_007_000, 7_002_000, True),
        (8_006_999, 7_002_000, False),
        (9_000_000, 2_006_000, False),
    ],
)
def test_address_space_traits_gated_on_versions(
    tmp_path: Path, lib_version: int, qemu_version: int, expected: bool
) -> None:
    conn = FakeConnection(lib_version=lib_version, qemu_version=qemu_version)
    info = discover(conn, tmp_path, libvirt__cpu_mode="host-passthrough")
    assert ("COMPUTE_ADDRESS_SPACE_EMULATED" in info.traits) is expected
    assert ("COMPUTE_ADDRESS_SPACE_PASSTHROUGH" in info.traits) is expected


@pytest.mark.parametrize(
    ("virt_type", "cpu_mode", "expected"),
    [("kvm", None, "host-model"), ("qemu", None, "custom"), ("qemu", "host-model", "host-model")],
)
def test_cpu_mode_in_force(
    tmp_path: Path, virt_type: str, cpu_mode: str | None, expected: str
) -> None:
    info = discover(
        FakeConnection(), tmp_path, libvirt__virt_type=virt_type, libvirt__cpu_mode=cpu_mode
    )
    assert (info.virt_type, info.cpu_mode) == (virt_type, expected)


def test_aarch64_host_runs_x86_emulated(tmp_path: Path) -> None:
    info = discover(FakeConnection(host_arch="aarch64"), tmp_path)
    assert info.arch == "aarch64"
    assert info.native_arches == ("aarch64",)
    assert "x86_64" in info.emulated_arches and "i686" in info.emulated_arches
    assert info.kvm_arches == ("aarch64",)
    assert {"HW_ARCH_AARCH64", "COMPUTE_ARCH_X86_64", "COMPUTE_FIRMWARE_UEFI"} <= info.traits
    assert not {"HW_ARCH_X86_64", "HW_ARCH_I686"} & info.traits  # emulated only
    assert "COMPUTE_FIRMWARE_BIOS" not in info.traits


def test_domain_capabilities_asked_for_every_emulator(tmp_path: Path) -> None:
    conn = FakeConnection()
    info = discover(conn, tmp_path, libvirt__virt_type="kvm")
    asked = {call[1]: call for call in conn.domcaps_calls}
    assert set(asked) == set(info.native_arches) | set(info.emulated_arches)
    assert {"x86_64", "aarch64", "riscv64", "s390x"} <= set(asked)
    assert asked["x86_64"] == ("/usr/bin/qemu-system-x86_64", "x86_64", "q35", "kvm")
    assert asked["aarch64"][2:] == ("virt", "qemu")


def test_without_domain_capabilities_tables_are_used(tmp_path: Path) -> None:
    info = discover(BareConnection(), tmp_path)
    assert info.uefi_arches == ()
    assert "COMPUTE_STORAGE_BUS_VIRTIO" in info.traits
    assert "COMPUTE_STORAGE_BUS_SATA" in info.traits  # x86 table
    assert "COMPUTE_GRAPHICS_MODEL_VIRTIO" in info.traits


def test_disk_from_statvfs_without_simulated_disk(tmp_path: Path) -> None:
    missing = tmp_path / "not" / "yet"
    info = discover(RealLikeConnection(), tmp_path, libvirt__instances_path=str(missing))
    stat = os.statvfs(tmp_path)
    assert info.disk_gb == stat.f_bavail * stat.f_frsize // 1024**3
    assert not (tmp_path / "not").exists()  # discovery creates nothing


def test_configured_host_name_wins(tmp_path: Path) -> None:
    assert discover(FakeConnection(), tmp_path, host="node-7").hostname == "node-7"


def _facts(**changes: object) -> TraitFacts:
    base: dict[str, object] = dict(
        host_arch="s390x", runnable_arches=("s390x",), hypervisor_type="QEMU",
        libvirt_version=9_000_000, qemu_version=8_000_000, cpu_mode="host-model",
        disk_buses=("virtio", "floppy-ish"), video_models=("virtio", "ramfb"),
        vif_models=("virtio",), bios=False, uefi=False,
    )  # fmt: skip
    base.update(changes)
    return TraitFacts(**base)  # type: ignore[arg-type]


def test_trait_table_maps_known_values_only() -> None:
    traits = host_traits(_facts())
    assert traits == {
        "COMPUTE_NODE", "HW_ARCH_S390X", "COMPUTE_ARCH_S390X", "COMPUTE_ADDRESS_SPACE_EMULATED",
        "COMPUTE_STORAGE_BUS_VIRTIO", "COMPUTE_GRAPHICS_MODEL_VIRTIO",
        "COMPUTE_NET_VIF_MODEL_VIRTIO",
    }  # fmt: skip


def test_non_qemu_hypervisor_gets_no_address_space_traits() -> None:
    traits = host_traits(_facts(hypervisor_type="Xen", cpu_mode="host-passthrough"))
    assert not {"COMPUTE_ADDRESS_SPACE_EMULATED", "COMPUTE_ADDRESS_SPACE_PASSTHROUGH"} & traits


def test_hw_arch_traits_for_every_natively_run_arch_only() -> None:
    traits = host_traits(
        _facts(
            host_arch="ppc64le",
            runnable_arches=("ppc64le", "ppc64", "x86_64"),
            native_arches=("ppc64", "ppc64le"),
        )
    )
    assert {t for t in traits if t.startswith("HW_ARCH_")} == {"HW_ARCH_PPC64LE", "HW_ARCH_PPC64"}
    assert {"COMPUTE_ARCH_PPC64LE", "COMPUTE_ARCH_X86_64"} <= traits  # no COMPUTE_ARCH_PPC64


def test_riscv_host_has_no_hw_arch_trait_but_a_compute_one() -> None:
    traits = host_traits(_facts(host_arch="riscv64", runnable_arches=("riscv64",)))
    assert "COMPUTE_ARCH_RISCV64" in traits
    assert not any(t.startswith("HW_ARCH_") for t in traits)
