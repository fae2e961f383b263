"""The libvirt driver on every sample host: discovery sees what the fleet file says, and
guests of every emulated arch boot. Catches simulator changes that would break the
driver (the driver's own tests live in tests/virt)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.guest import with_guest
from virtfleet.conf import make_conf
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import Fleet
from virtfleet.virt.sim.agentconf import conf_overrides
from virtfleet.virt.types import GuestSpec


def driver_for(fleet: Fleet, host: str, tmp_path: Path) -> LibvirtDriver:
    conf = make_conf(data_dir=str(tmp_path), **conf_overrides(fleet.host(host)))
    return LibvirtDriver(open_connection(f"sim://{host}", fleet), conf)


@pytest.fixture
def kvm_driver(fleet: Fleet, tmp_path: Path) -> Iterator[LibvirtDriver]:
    yield driver_for(fleet, "kvm-1", tmp_path)


@pytest.mark.parametrize("host", ["kvm-1", "passthrough-1", "arm-1", "old-1", "slice-1", "vgpu-1"])
def test_discovery_matches_the_fleet_file(host: str, fleet: Fleet, tmp_path: Path) -> None:
    profile = fleet.host(host)
    info = driver_for(fleet, host, tmp_path).discover()
    assert info.arch == profile.arch and info.hostname == host
    assert info.vcpus == profile.cpus and info.memory_mb == profile.memory_mb
    assert info.disk_gb == profile.disk_gb
    assert info.maxphysaddr_bits == profile.maxphysaddr_bits
    assert set(info.emulated_arches) == set(profile.emulators)
    assert set(info.kvm_arches) == set(profile.kvm_arches)
    assert len(info.numa_cells) == len(profile.numa)
    assert info.libvirt_version == profile.libvirt_version.encoded
    assert f"HW_ARCH_{profile.arch.upper()}" in info.traits
    for arch in profile.emulators:
        assert f"COMPUTE_ARCH_{arch.upper()}" in info.traits


@pytest.mark.parametrize("arch", ["x86_64", "aarch64", "ppc64le", "s390x", "riscv64", "mipsel"])
def test_guests_of_every_arch_boot_on_kvm_1(arch: str, kvm_driver: LibvirtDriver) -> None:
    instance = str(uuid.uuid4())
    properties = {} if arch == "x86_64" else {"hw_emulation_architecture": arch}
    spec = with_guest(GuestSpec(
        instance_uuid=instance, name=f"g-{arch}", vcpus=1, memory_mb=256,
        image_properties=properties,
    ))  # fmt: skip
    kvm_driver.spawn(spec)
    assert kvm_driver.get_power_state(instance) == "running"
    kvm_driver.destroy(instance)
    assert instance not in kvm_driver.list_instance_uuids()


def test_mdev_discovery_and_creation_through_the_driver_helpers(fleet: Fleet) -> None:
    from virtfleet.virt.libvirt import mdev

    conn = open_connection("sim://vgpu-1", fleet)
    parents = mdev.mdev_parents(conn, ["nvidia-222"])
    assert [p.pci_address for p in parents] == ["0000:3b:00.0", "0000:af:00.0"]
    assert parents[0].types[0].available == 8 and parents[0].types[0].name == "GRID T4-2Q"
    assert mdev.mdev_parents(conn, ["nvidia-999"]) == ()
    uuid_ = str(uuid.uuid4())
    conn.nodeDeviceCreateXML(mdev.mdev_create_xml(parents[0].device, "nvidia-222", uuid_), 0)
    (created,) = mdev.mediated_devices(conn)
    assert (created.uuid, created.type_id, created.parent) == (
        uuid_,
        "nvidia-222",
        parents[0].device,
    )
    assert mdev.mdev_parents(conn, ["nvidia-222"])[0].types[0].available == 7
