"""The driver's view of a hypervisor: every case runs on the simulated host and on real
libvirt (the ``connection`` fixture), with the same expectations for both."""

from __future__ import annotations

import dataclasses
import queue
import uuid
from pathlib import Path
from typing import Any

import libvirt
import pytest

from support.guest import with_guest
from virtfleet import errors
from virtfleet.virt.libvirt import config, guest, rescue
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.types import GuestSpec

from .conftest import SIM_HOSTS, make_driver, open_real
from .payloads import idle_kernel

EMULATED = ("aarch64", "ppc64le", "s390x", "riscv64", "mipsel")
EXPECTED_TRAITS = {
    "COMPUTE_NODE",
    "HW_ARCH_X86_64",
    "COMPUTE_ARCH_X86_64",
    "COMPUTE_ARCH_AARCH64",
    "COMPUTE_ARCH_PPC64LE",
    "COMPUTE_ARCH_S390X",
    "COMPUTE_ARCH_RISCV64",
    "COMPUTE_ARCH_MIPSEL",
}
# arch -> machine aliases QEMU offers for it; "{v}" is QEMU's major.minor
EXPECTED_MACHINES = {
    "x86_64": {"pc", "q35", "pc-q35-{v}", "pc-i440fx-{v}"},
    "i686": {"pc", "q35"},
    "aarch64": {"virt", "virt-{v}"},
    "ppc64le": {"pseries", "pseries-{v}"},
    "s390x": {"s390-ccw-virtio", "s390-ccw-virtio-{v}"},
    "riscv64": {"virt"},
    "mipsel": {"malta"},
}
EVENT_TIMEOUT = 30.0


def spec_for(arch: str, tmp_path: Path, **changes: Any) -> GuestSpec:
    """A tiny diskless guest booting the idle kernel of ``arch``."""
    values: dict[str, Any] = {
        "instance_uuid": str(uuid.uuid4()),
        "name": f"contract-{arch}",
        "vcpus": 1,
        "memory_mb": 64,
        "image_properties": {"hw_architecture": arch},
        "kernel_path": str(idle_kernel(arch, tmp_path)) if arch in ("x86_64", "aarch64") else None,
    }
    values.update(changes)
    return with_guest(GuestSpec(**values))


def no_domain(conn: Any, instance_uuid: str) -> bool:
    """True when the hypervisor knows no domain with that UUID."""
    try:
        conn.lookupByUUIDString(instance_uuid)
    except libvirt.libvirtError as exc:
        return bool(exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN)
    return False


# -- discovery ------------------------------------------------------------------------
def test_discovery_facts(driver: LibvirtDriver) -> None:
    info = driver.discover()
    version = f"{info.qemu_version // 1_000_000}.{info.qemu_version // 1000 % 1000}"
    assert info.arch == "x86_64"
    assert info.hypervisor_type == "QEMU"
    assert set(info.native_arches) == {"x86_64", "i686"}
    assert set(info.kvm_arches) == {"x86_64", "i686"}
    assert set(EMULATED) <= set(info.emulated_arches)
    assert info.libvirt_version >= 9_000_000
    for arch, wanted in EXPECTED_MACHINES.items():
        machines = set(info.machine_types[arch])
        assert {m.format(v=version) for m in wanted} <= machines, arch
        assert info.emulators[arch] == f"/usr/bin/qemu-system-{arch.replace('i686', 'i386')}"
    assert info.traits >= EXPECTED_TRAITS
    assert not {"HW_ARCH_AARCH64", "COMPUTE_ARCH_SPARC64"} & info.traits


@pytest.mark.libvirt
def test_simulated_discovery_matches_real(contract_fleet: Any, tmp_path: Path) -> None:
    """The contract profile (QEMU 7.2 like this machine) discovers exactly what the real
    host does, for the arches it simulates."""
    from virtfleet.virt.connection import open_connection

    sim_conn, real_conn = open_connection(f"sim://{SIM_HOSTS[0]}", contract_fleet), open_real()
    try:
        sim, real = (
            make_driver(sim_conn, tmp_path).discover(),
            make_driver(real_conn, tmp_path).discover(),
        )
    finally:
        sim_conn.close()
        real_conn.close()
    arches = set(sim.machine_types)
    assert arches <= set(real.machine_types)
    for field in ("arch", "hypervisor_type", "libvirt_version", "native_arches", "kvm_arches"):
        assert getattr(sim, field) == getattr(real, field), field
    for arch in sorted(arches):
        assert set(sim.machine_types[arch]) == set(real.machine_types[arch]), arch
        assert sim.emulators[arch] == real.emulators[arch], arch
    real_only_arches = {
        t for t in real.traits if t.startswith("COMPUTE_ARCH_") and t not in sim.traits
    }
    assert sim.traits == real.traits - real_only_arches


# -- spawn / destroy / power ------------------------------------------------------------
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_spawn_and_destroy_leave_nothing(
    driver: LibvirtDriver, connection: Any, tmp_path: Path, arch: str
) -> None:
    spec = spec_for(arch, tmp_path)
    uid = spec.instance_uuid
    driver.spawn(spec)
    try:
        assert driver.get_power_state(uid) == "running"
        assert uid in driver.list_instance_uuids()
        live = config.Domain.parse(driver.get_domain_xml(uid))
        assert live.type == "qemu" and live.id is not None
        assert live.os is not None and live.os.type.arch == arch
        assert live.instance is not None and live.instance.uuid == uid
        with pytest.raises(errors.Conflict):
            driver.spawn(spec)
    finally:
        driver.destroy(uid)
    assert uid not in driver.list_instance_uuids()
    assert no_domain(connection, uid)
    assert not (tmp_path / "instances" / uid).exists()
    with pytest.raises(errors.NotFound):
        driver.get_power_state(uid)
    driver.destroy(uid)  # nothing there: fine


def test_power_off_on_and_reboot(driver: LibvirtDriver, tmp_path: Path) -> None:
    spec = spec_for("x86_64", tmp_path)
    uid = spec.instance_uuid
    driver.spawn(spec)
    try:
        driver.power_off(uid)
        assert driver.get_power_state(uid) == "shutoff"
        driver.power_off(uid)  # idempotent
        assert config.Domain.parse(driver.get_domain_xml(uid)).id is None
        driver.power_on(uid)
        assert driver.get_power_state(uid) == "running"
        driver.power_on(uid)  # idempotent
        driver.reboot(uid)
        assert driver.get_power_state(uid) == "running"
    finally:
        driver.destroy(uid)
    assert uid not in driver.list_instance_uuids()


# -- refusals ---------------------------------------------------------------------------
# name -> (guest arch, what to change in the resolved guest, failing phase, libvirt code)
REFUSALS: dict[str, tuple[str, dict[str, Any], str, int]] = {
    "machine not offered for the arch": (
        "aarch64",
        {"machine": "q35"},
        "define",
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
    ),
    "kvm domain for a foreign arch": (
        "aarch64",
        {"domain_type": "kvm"},
        "define",
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
    ),
    "riscv64 with a cpu element": (
        "riscv64",
        {"cpu": guest.CpuChoice(mode="custom", model="rv64")},
        "create",
        libvirt.VIR_ERR_NO_SUPPORT,
    ),
}


def define_and_start(conn: Any, xml: str) -> tuple[str, int | None, str]:
    """(phase that failed or "none", error code, message); cleans up after itself."""
    phase, domain = "define", None
    try:
        domain = conn.defineXML(xml)
        phase = "create"
        domain.create()
        return "none", None, ""
    except libvirt.libvirtError as exc:
        return phase, exc.get_error_code(), str(exc.get_error_message())
    finally:
        if domain is not None:
            if domain.isActive():
                domain.destroy()
            domain.undefine()


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_xml(
    case: str,
    driver: LibvirtDriver,
    connection: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """XML libvirt must refuse: same phase and code on both, and a spawn of it raises
    HypervisorError with that code and leaves no domain and no files."""
    arch, changes, phase, code = REFUSALS[case]
    spec = spec_for(arch, tmp_path)
    tampered = dataclasses.replace(driver.build(spec), **changes)
    failed_phase, failed_code, message = define_and_start(
        connection, guest.build_domain(tampered).to_xml()
    )
    assert (failed_phase, failed_code) == (phase, code), message
    monkeypatch.setattr(driver, "build", lambda _spec: tampered)
    with pytest.raises(errors.HypervisorError) as caught:
        driver.spawn(spec)
    assert caught.value.code == code
    assert message in str(caught.value)
    assert no_domain(connection, spec.instance_uuid)
    assert not (tmp_path / "instances" / spec.instance_uuid).exists()


def test_console_log_directory_must_exist(
    driver: LibvirtDriver, connection: Any, tmp_path: Path
) -> None:
    """libvirt opens a file console when the guest starts, not when it is defined."""
    missing = tmp_path / "missing" / "console.log"
    spec = spec_for("x86_64", tmp_path, console_log_path=str(missing))
    xml = guest.build_domain(driver.build(spec)).to_xml()
    phase, code, message = define_and_start(connection, xml)
    assert (phase, code) == ("create", libvirt.VIR_ERR_SYSTEM_ERROR)
    assert message == f"Unable to open file: {missing}: No such file or directory"


def test_machine_not_offered_is_refused_before_libvirt(
    driver: LibvirtDriver, tmp_path: Path
) -> None:
    spec = spec_for(
        "aarch64",
        tmp_path,
        image_properties={"hw_architecture": "aarch64", "hw_machine_type": "q35"},
    )
    with pytest.raises(errors.InvalidInput, match="machine type 'q35' is not available"):
        driver.spawn(spec)
    assert spec.instance_uuid not in driver.list_instance_uuids()


# -- lifecycle events ---------------------------------------------------------------------
def wait_for(
    events: queue.Queue[tuple[str, str]], wanted: tuple[str, str]
) -> list[tuple[str, str]]:
    """Events seen until ``wanted`` arrived (fails after EVENT_TIMEOUT)."""
    seen: list[tuple[str, str]] = []
    while wanted not in seen:
        try:
            seen.append(events.get(timeout=EVENT_TIMEOUT))
        except queue.Empty:
            pytest.fail(f"no {wanted} event within {EVENT_TIMEOUT}s; saw {seen}")
    return seen


def test_lifecycle_events(driver: LibvirtDriver, connection: Any, tmp_path: Path) -> None:
    """Start, and a stop behind the driver's back, reach its lifecycle callback."""
    events: queue.Queue[tuple[str, str]] = queue.Queue()
    driver.register_lifecycle_callback(lambda uid, state: events.put((uid, state)))
    spec = spec_for("x86_64", tmp_path)
    uid = spec.instance_uuid
    driver.spawn(spec)
    try:
        wait_for(events, (uid, "running"))
        connection.lookupByUUIDString(uid).destroy()  # not through the driver
        wait_for(events, (uid, "shutoff"))
        assert driver.get_power_state(uid) == "shutoff"
    finally:
        driver.destroy(uid)


def test_events_of_other_domains_are_not_reported(
    driver: LibvirtDriver, connection: Any, tmp_path: Path
) -> None:
    """Only virtfleet's domains (by name prefix) reach the callback."""
    events: queue.Queue[tuple[str, str]] = queue.Queue()
    driver.register_lifecycle_callback(lambda uid, state: events.put((uid, state)))
    spec = spec_for("x86_64", tmp_path)
    xml = guest.build_domain(driver.build(spec)).to_xml()
    foreign = dataclasses.replace(
        config.Domain.parse(xml), name=f"not-virtfleet-{spec.instance_uuid[:8]}"
    )
    (tmp_path / "instances" / spec.instance_uuid).mkdir(parents=True)
    domain = connection.createXML(foreign.to_xml(), 0)
    try:
        domain.destroy()
        mine = spec_for("x86_64", tmp_path)
        driver.spawn(mine)
        driver.destroy(mine.instance_uuid)
        seen = wait_for(events, (mine.instance_uuid, "shutoff"))
        # (the real daemon is shared: other virtfleet guests may show up too)
        assert (mine.instance_uuid, "running") in seen
        assert spec.instance_uuid not in {uid for uid, _ in seen}
    finally:
        if not no_domain(connection, spec.instance_uuid):
            connection.lookupByUUIDString(spec.instance_uuid).destroy()


# -- rescue -----------------------------------------------------------------------------
def test_rescue_boots_the_rescue_disk_first_and_unrescue_restores_the_guest(
    driver: LibvirtDriver, connection: Any, tmp_path: Path
) -> None:
    """A rescued guest runs with the rescue disk first (booted first) and its own disk
    second; unrescue defines it exactly as before, running, the rescue files gone. A
    second rescue is refused, as is an unrescue of a guest not rescued."""
    own_image, rescue_image = tmp_path / "own.raw", tmp_path / "rescue.raw"
    own_image.write_bytes(b"\0" * 65536)
    rescue_image.write_bytes(b"\1" * 65536)
    spec = spec_for("x86_64", tmp_path, image_path=str(own_image), image_format="raw")
    uid = spec.instance_uuid
    driver.spawn(spec)
    instance_dir = tmp_path / "instances" / uid
    try:
        domain = connection.lookupByUUIDString(uid)
        before = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        with pytest.raises(errors.Conflict, match="not rescued"):
            driver.unrescue(uid)
        driver.rescue(spec, str(rescue_image), "raw")
        assert driver.get_power_state(uid) == "running"
        assert rescue.disk_sources(driver.get_domain_xml(uid)) == [
            ("vda", str(instance_dir / rescue.RESCUE_DISK)),
            ("vdb", str(instance_dir / guest.DISK_FILE)),
        ]
        assert (instance_dir / rescue.UNRESCUE_XML).read_text() == before
        with pytest.raises(errors.Conflict, match="already rescued"):
            driver.rescue(spec, str(rescue_image), "raw")
        driver.unrescue(uid)
        assert driver.get_power_state(uid) == "running"
        assert connection.lookupByUUIDString(uid).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before
        assert not (instance_dir / rescue.RESCUE_DISK).exists()
        assert not (instance_dir / rescue.UNRESCUE_XML).exists()
        driver.power_off(uid)  # a stopped guest is started by its rescue
        driver.rescue(spec, str(rescue_image), "raw")
        assert driver.get_power_state(uid) == "running"
    finally:
        driver.destroy(uid)
    assert no_domain(connection, uid)
    assert not instance_dir.exists()  # the rescue disk went with the guest


def test_a_failed_rescue_leaves_the_guest_as_it_was(
    driver: LibvirtDriver, connection: Any, tmp_path: Path
) -> None:
    own_image = tmp_path / "own.raw"
    own_image.write_bytes(b"\0" * 65536)
    spec = spec_for("x86_64", tmp_path, image_path=str(own_image), image_format="raw")
    uid = spec.instance_uuid
    driver.spawn(spec)
    instance_dir = tmp_path / "instances" / uid
    try:
        before = connection.lookupByUUIDString(uid).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        with pytest.raises(errors.HypervisorError, match="rescue of instance"):
            driver.rescue(spec, str(tmp_path / "no-such-image.raw"), "raw")
        with pytest.raises(errors.InvalidInput, match="rescue image format 'vmdk'"):
            driver.rescue(spec, str(own_image), "vmdk")
        assert driver.get_power_state(uid) == "running"
        assert connection.lookupByUUIDString(uid).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before
        assert sorted(p.name for p in instance_dir.iterdir()) == sorted(
            [guest.DISK_FILE, guest.CONSOLE_LOG]
        )
    finally:
        driver.destroy(uid)
