"""The driver against the real libvirtd at qemu:///system: discovery and TCG guests
built by our builders, booted on tiny idle kernels, checked live and cleaned up."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from support.ci import unavailable
from support.guest import with_guest
from support.virt_payloads import write_payload
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.virt import event_loop
from virtfleet.virt.libvirt import config, guest
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.types import GuestSpec

pytestmark = pytest.mark.libvirt
URI = "qemu:///system"


def _quiet(_ctx: Any, _err: Any) -> None:
    """libvirt-python prints every error to stderr by default; the tests check codes."""


@pytest.fixture(scope="module")
def conn() -> Iterator[Any]:
    libvirt.registerErrorHandler(_quiet, None)
    connection = libvirt.open(URI)
    yield connection
    connection.close()


@pytest.fixture
def driver(conn: Any, tmp_path: Path) -> LibvirtDriver:
    return LibvirtDriver(conn, make_conf(data_dir=str(tmp_path), libvirt__virt_type="qemu"))


def guest_spec(tmp_path: Path, arch: str, **changes: Any) -> GuestSpec:
    values: dict[str, Any] = dict(
        instance_uuid=str(uuid.uuid4()), name=f"test-{arch}", vcpus=1, memory_mb=128,
        image_properties={"hw_architecture": arch},
    )  # fmt: skip
    if "kernel_path" not in changes:
        values["kernel_path"] = str(write_payload(arch, tmp_path))
    values.update(changes)
    return with_guest(GuestSpec(**values))


def assert_gone(driver: LibvirtDriver, conn: Any, spec: GuestSpec, tmp_path: Path) -> None:
    uid = spec.instance_uuid
    assert uid not in driver.list_instance_uuids()
    with pytest.raises(libvirt.libvirtError) as caught:
        conn.lookupByUUIDString(uid)
    assert caught.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    assert not (tmp_path / "instances" / uid).exists()


def test_discover_local_host(driver: LibvirtDriver) -> None:
    info = driver.discover()
    assert info.arch in info.native_arches
    assert info.vcpus >= 1 and info.memory_mb > 0 and info.disk_gb >= 0
    assert info.libvirt_version >= 1_000_000 and info.qemu_version >= 1_000_000
    assert info.hypervisor_type == "QEMU"
    assert {"COMPUTE_NODE", f"HW_ARCH_{info.arch.upper()}"} <= info.traits
    assert info.numa_cells and sum(len(c.cpus) for c in info.numa_cells) == info.vcpus
    for arch in info.runnable_arches:
        assert info.machine_types[arch] and info.emulators[arch].startswith("/")
    if "aarch64" in info.emulated_arches:
        assert "COMPUTE_ARCH_AARCH64" in info.traits
        assert "virt" in info.machine_types["aarch64"]


MAXPHYSADDR_42 = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"}


@pytest.mark.parametrize(
    ("arch", "extra_specs", "machine_prefix", "cpu_model", "serial_target", "phys"),
    [
        ("x86_64", MAXPHYSADDR_42, "pc-q35-", "qemu64", "isa-serial",
         config.MaxPhysAddr(mode="emulate", bits=42)),
        ("aarch64", {}, "virt", "cortex-a57", "system-serial", None),
    ],
)  # fmt: skip
def test_spawn_and_destroy_tcg_guest(
    driver: LibvirtDriver,
    conn: Any,
    tmp_path: Path,
    arch: str,
    extra_specs: dict[str, str],
    machine_prefix: str,
    cpu_model: str,
    serial_target: str,
    phys: config.MaxPhysAddr | None,
) -> None:
    """Power actions run in test_virt_contract.py, against both hypervisors."""
    if arch not in driver.host_info().runnable_arches:
        unavailable(f"no {arch} emulator on this host")
    spec = guest_spec(tmp_path, arch, extra_specs=extra_specs)
    uid = spec.instance_uuid
    driver.spawn(spec)
    try:
        assert driver.get_power_state(uid) == "running"
        assert uid in driver.list_instance_uuids()
        live = config.Domain.parse(driver.get_domain_xml(uid))
        assert live.type == "qemu" and live.uuid == uid and live.id is not None
        assert live.os is not None and live.os.type.arch == arch
        assert live.os.type.machine is not None
        assert live.os.type.machine.startswith(machine_prefix)
        assert live.os.kernel == spec.kernel_path
        assert live.cpu is not None and live.cpu.model is not None
        assert (live.cpu.mode, live.cpu.model.name) == ("custom", cpu_model)
        assert live.cpu.maxphysaddr == phys
        assert live.devices is not None
        log = str(tmp_path / "instances" / uid / "console.log")
        # The serial port is a pty (the interactive console) that QEMU also logs.
        assert [s.type for s in live.devices.serials] == ["pty"]
        assert [s.log.file for s in live.devices.serials if s.log] == [log]
        assert [s.target.type for s in live.devices.serials if s.target] == [serial_target]
        assert live.instance is not None and live.instance.uuid == uid
        assert driver.get_console_output(uid) == ""  # idle kernels print nothing
        driver.reboot(uid)
        assert driver.get_power_state(uid) == "running"
    finally:
        driver.destroy(uid)
    assert_gone(driver, conn, spec, tmp_path)
    driver.destroy(uid)  # idempotent


def test_failed_start_leaves_nothing(driver: LibvirtDriver, conn: Any, tmp_path: Path) -> None:
    spec = guest_spec(tmp_path, "x86_64", kernel_path=str(tmp_path / "no-such-kernel"))
    with pytest.raises(errors.HypervisorError) as caught:
        driver.spawn(spec)
    assert caught.value.code is not None
    assert spec.instance_uuid in str(caught.value)
    assert_gone(driver, conn, spec, tmp_path)


def test_refused_definition_leaves_nothing(
    driver: LibvirtDriver, conn: Any, tmp_path: Path
) -> None:
    """A hand-made host-passthrough CPU under TCG is refused at start (our builders never
    write one); destroy() removes what such a definition left behind."""
    spec = guest_spec(tmp_path, "x86_64")
    resolved = driver.build(spec)
    domain = guest.build_domain(resolved)
    assert domain.cpu is not None
    bad_xml = domain.to_xml().replace('mode="custom"', 'mode="host-passthrough"')
    defined = conn.defineXML(bad_xml)
    with pytest.raises(libvirt.libvirtError) as caught:
        defined.create()
    assert caught.value.get_error_code() == libvirt.VIR_ERR_CONFIG_UNSUPPORTED
    driver.destroy(spec.instance_uuid)  # cleans up what the hand-made define left
    assert_gone(driver, conn, spec, tmp_path)


def test_lifecycle_events_from_libvirt(tmp_path: Path) -> None:
    event_loop.ensure_running()  # the process-wide loop the agent uses too
    events_conn = libvirt.open(URI)
    try:
        driver = LibvirtDriver(
            events_conn, make_conf(data_dir=str(tmp_path), libvirt__virt_type="qemu")
        )
        seen: list[tuple[str, str]] = []
        driver.register_lifecycle_callback(lambda uid, state: seen.append((uid, state)))
        spec = guest_spec(tmp_path, "x86_64")
        driver.spawn(spec)
        driver.destroy(spec.instance_uuid)
        deadline = time.monotonic() + 10
        while (spec.instance_uuid, "shutoff") not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (spec.instance_uuid, "running") in seen
        assert (spec.instance_uuid, "shutoff") in seen
    finally:
        events_conn.close()
    shutil.rmtree(tmp_path / "instances", ignore_errors=True)


@pytest.mark.parametrize("arch", ["i686", "armv7l", "ppc64le", "s390x", "riscv64", "mipsel"])
def test_libvirt_starts_what_we_build_for_every_arch(
    driver: LibvirtDriver, conn: Any, tmp_path: Path, arch: str
) -> None:
    """Diskless and payload-less: libvirt and QEMU accept the XML at define and start
    (an s390x guest without a kernel crashes at once, which fails its spawn)."""
    if arch not in driver.host_info().runnable_arches:
        unavailable(f"no {arch} emulator on this host")
    spec = guest_spec(tmp_path, arch, kernel_path=None)
    if arch == "s390x":  # started (XML accepted), then no IPL device: a crash, not a refusal
        conf = make_conf(
            data_dir=str(tmp_path), libvirt__virt_type="qemu", libvirt__spawn_settle_seconds=5
        )  # the crash may take over a second on a busy machine
        with pytest.raises(errors.HypervisorError) as caught:
            LibvirtDriver(conn, conf).spawn(spec)
        assert "the guest stopped within" in caught.value.message
        assert "Failed to load OS" in caught.value.message, caught.value.message
        assert_gone(driver, conn, spec, tmp_path)
        return
    driver.spawn(spec)
    try:
        live = config.Domain.parse(driver.get_domain_xml(spec.instance_uuid))
        assert live.os is not None and live.os.type.arch == arch
        # s390x panics at once: libvirt passes through "paused (crashed)" to shut off
        states = ("running", "shutoff", "crashed", "paused")
        assert driver.get_power_state(spec.instance_uuid) in states
    finally:
        driver.destroy(spec.instance_uuid)
    assert_gone(driver, conn, spec, tmp_path)
