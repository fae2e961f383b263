"""The same driver cases against the simulated hypervisor and real libvirt: the driver
cannot tell them apart, and neither may its results."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from support.guest import with_guest
from support.virt_payloads import write_payload
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt import config
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.types import GuestSpec


def _quiet(_ctx: Any, _err: Any) -> None:
    """libvirt-python prints every error to stderr by default; the tests check codes."""


HYPERVISORS: dict[str, Callable[[], Any]] = {
    "sim": lambda: open_connection("sim://kvm-1"),
    "libvirt": lambda: open_connection("qemu:///system"),
}


@pytest.fixture(
    params=[
        pytest.param("sim"),
        pytest.param("libvirt", marks=pytest.mark.libvirt),
    ]
)
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LibvirtDriver]:
    libvirt.registerErrorHandler(_quiet, None)
    conn = HYPERVISORS[request.param]()
    yield LibvirtDriver(conn, make_conf(data_dir=str(tmp_path), libvirt__virt_type="qemu"))
    conn.close()


def guest_spec(tmp_path: Path, arch: str, **changes: Any) -> GuestSpec:
    values: dict[str, Any] = dict(
        instance_uuid=str(uuid.uuid4()), name=f"contract-{arch}", vcpus=1, memory_mb=128,
        image_properties={"hw_architecture": arch},
        kernel_path=str(write_payload(arch, tmp_path)),
    )  # fmt: skip
    values.update(changes)
    return with_guest(GuestSpec(**values))


def test_discovery_shape(driver: LibvirtDriver) -> None:
    info = driver.discover()
    assert info.arch == "x86_64"
    assert {"x86_64", "i686"} <= set(info.native_arches)
    assert "aarch64" in info.emulated_arches
    assert {"COMPUTE_NODE", "HW_ARCH_X86_64", "COMPUTE_ARCH_X86_64", "COMPUTE_ARCH_AARCH64"} <= (
        info.traits
    )
    assert "q35" in info.machine_types["x86_64"] and "virt" in info.machine_types["aarch64"]
    assert info.maxphysaddr_bits is not None


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_lifecycle(driver: LibvirtDriver, tmp_path: Path, arch: str) -> None:
    spec = guest_spec(tmp_path, arch)
    uid = spec.instance_uuid
    driver.spawn(spec)
    try:
        assert driver.get_power_state(uid) == "running"
        assert uid in driver.list_instance_uuids()
        live = config.Domain.parse(driver.get_domain_xml(uid))
        assert live.type == "qemu" and live.os is not None and live.os.type.arch == arch
        assert live.instance is not None and live.instance.uuid == uid
        with pytest.raises(errors.Conflict):
            driver.spawn(spec)
        driver.power_off(uid)
        assert driver.get_power_state(uid) == "shutoff"
        driver.power_on(uid)
        assert driver.get_power_state(uid) == "running"
    finally:
        driver.destroy(uid)
    assert uid not in driver.list_instance_uuids()
    assert not (tmp_path / "instances" / uid).exists()
    with pytest.raises(errors.NotFound):
        driver.get_power_state(uid)
    driver.destroy(uid)


def test_refused_start_leaves_nothing(driver: LibvirtDriver, tmp_path: Path) -> None:
    """More vCPUs than the machine type allows: both refuse it, with a libvirt code."""
    spec = guest_spec(tmp_path, "x86_64", vcpus=4096, image_properties={"hw_machine_type": "pc"})
    with pytest.raises(errors.HypervisorError) as caught:
        driver.spawn(spec)
    assert caught.value.code == libvirt.VIR_ERR_CONFIG_UNSUPPORTED
    assert "machine type limit" in str(caught.value)
    assert spec.instance_uuid not in driver.list_instance_uuids()
    assert not (tmp_path / "instances" / spec.instance_uuid).exists()
