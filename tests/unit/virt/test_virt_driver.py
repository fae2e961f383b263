"""The driver against a fake connection: lifecycle, cleanup on failure, error codes."""

from __future__ import annotations

import os
from pathlib import Path

import libvirt
import pytest

from support.guest import with_guest
from support.virt_fakes import FakeConnection, libvirt_error
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.virt.libvirt import config
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.types import GuestSpec

UUID = "11111111-2222-4333-8444-555555555555"
NO_SETTLE = {"libvirt__spawn_settle_seconds": 0}  # fake guests never stop on their own
OTHER = "99999999-2222-4333-8444-555555555555"


class RecordingImages:
    """An ImageTool that writes a marker file instead of running qemu-img."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str, str, int]] = []
        self.fail = fail

    def create_overlay(self, path: str, backing: str, backing_format: str, size_gb: int) -> None:
        self.calls.append((path, backing, backing_format, size_gb))
        if self.fail:
            raise OSError("no space left on device")
        Path(path).write_text("overlay")

    def convert(self, source: str, source_format: str, target: str) -> None:
        Path(target).write_bytes(Path(source).read_bytes())

    def copy_disk(
        self, source: str, target: str, backing: str, backing_format: str, size_gb: int
    ) -> None:
        Path(target).write_bytes(Path(source).read_bytes())

    def rebase(self, target: str, backing: str, backing_format: str) -> None:
        pass  # no backing file to name


@pytest.fixture
def conn() -> FakeConnection:
    return FakeConnection()


@pytest.fixture
def images() -> RecordingImages:
    return RecordingImages()


@pytest.fixture
def driver(conn: FakeConnection, images: RecordingImages, tmp_path: Path) -> LibvirtDriver:
    conf = make_conf(data_dir=str(tmp_path), libvirt__virt_type="qemu", **NO_SETTLE)
    return LibvirtDriver(conn, conf, images=images)


def spec(tmp_path: Path, uuid: str = UUID, **changes: object) -> GuestSpec:
    values: dict[str, object] = dict(
        instance_uuid=uuid, name="vm", vcpus=1, memory_mb=128,
        instance_dir=str(tmp_path / "instances" / uuid),
        console_log_path=str(tmp_path / "instances" / uuid / "console.log"),
    )  # fmt: skip
    values.update(changes)
    return with_guest(GuestSpec(**values))  # type: ignore[arg-type]


def test_spawn_defines_and_starts(
    driver: LibvirtDriver, conn: FakeConnection, images: RecordingImages, tmp_path: Path
) -> None:
    driver.spawn(spec(tmp_path, image_path="/images/base.img", image_format="raw", root_gb=5))
    instance_dir = tmp_path / "instances" / UUID
    assert images.calls == [(str(instance_dir / "disk"), "/images/base.img", "raw", 5)]
    assert (instance_dir / "console.log").exists()
    assert driver.get_power_state(UUID) == "running"
    assert driver.list_instance_uuids() == [UUID]
    domain = config.Domain.parse(driver.get_domain_xml(UUID))
    assert domain.type == "qemu" and domain.name == f"vf-{UUID}"


def test_spawn_twice_is_a_conflict_and_keeps_the_first(
    driver: LibvirtDriver, tmp_path: Path
) -> None:
    driver.spawn(spec(tmp_path))
    with pytest.raises(errors.Conflict):
        driver.spawn(spec(tmp_path))
    assert driver.get_power_state(UUID) == "running"
    assert (tmp_path / "instances" / UUID).exists()


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("defineXML", libvirt.VIR_ERR_XML_ERROR),
        ("create", libvirt.VIR_ERR_INTERNAL_ERROR),
        ("create", libvirt.VIR_ERR_CONFIG_UNSUPPORTED),
    ],
)
def test_spawn_failure_leaves_nothing_and_carries_the_code(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path, method: str, code: int
) -> None:
    conn.fail[method] = code
    with pytest.raises(errors.HypervisorError) as caught:
        driver.spawn(spec(tmp_path))
    assert caught.value.code == code
    assert f"injected failure of {method}" in str(caught.value)
    assert UUID in str(caught.value)
    assert conn.domains == {}
    assert not (tmp_path / "instances" / UUID).exists()


def test_spawn_failure_of_the_disk_cleans_up(conn: FakeConnection, tmp_path: Path) -> None:
    conf = make_conf(data_dir=str(tmp_path), libvirt__virt_type="qemu", **NO_SETTLE)
    driver = LibvirtDriver(conn, conf, images=RecordingImages(fail=True))
    with pytest.raises(errors.HypervisorError) as caught:
        driver.spawn(spec(tmp_path, image_path="/images/base.qcow2"))
    assert caught.value.code is None and "no space left" in str(caught.value)
    assert conn.domains == {} and not (tmp_path / "instances" / UUID).exists()


def test_spawn_of_an_impossible_guest_is_invalid_input_and_touches_nothing(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path
) -> None:
    with pytest.raises(errors.InvalidInput):
        driver.spawn(spec(tmp_path, image_properties={"hw_machine_type": "nope"}))
    assert conn.domains == {} and not (tmp_path / "instances").exists()


def test_destroy_removes_domain_and_files_and_is_idempotent(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path
) -> None:
    driver.spawn(spec(tmp_path))
    driver.destroy(UUID)
    assert conn.domains == {}
    assert not (tmp_path / "instances" / UUID).exists()
    driver.destroy(UUID)  # nothing there: fine
    driver.destroy(OTHER)


def test_destroy_of_a_stopped_guest(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path
) -> None:
    driver.spawn(spec(tmp_path))
    driver.power_off(UUID)
    driver.destroy(UUID)
    assert conn.domains == {}


def test_destroy_never_removes_a_directory_that_is_not_the_instance_s(
    driver: LibvirtDriver, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    driver.spawn(spec(tmp_path, instance_dir=str(shared), console_log_path=str(shared / "c.log")))
    driver.destroy(UUID)
    assert shared.exists()


def test_destroy_reports_hypervisor_failures(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path
) -> None:
    driver.spawn(spec(tmp_path))
    conn.fail["destroy"] = libvirt.VIR_ERR_SYSTEM_ERROR
    with pytest.raises(errors.HypervisorError) as caught:
        driver.destroy(UUID)
    assert caught.value.code == libvirt.VIR_ERR_SYSTEM_ERROR


def test_undefine_falls_back_when_flags_are_unsupported(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path
) -> None:
    driver.spawn(spec(tmp_path))
    conn.fail["undefineFlags"] = libvirt.VIR_ERR_NO_SUPPORT
    driver.destroy(UUID)
    assert conn.domains == {}


def test_power_cycle(driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path) -> None:
    driver.spawn(spec(tmp_path))
    driver.power_off(UUID)
    assert driver.get_power_state(UUID) == "shutoff"
    driver.power_off(UUID)  # idempotent
    driver.power_on(UUID)
    assert driver.get_power_state(UUID) == "running"
    driver.power_on(UUID)  # idempotent
    driver.reboot(UUID)
    assert conn.domains[UUID].resets == 1
    driver.power_off(UUID)
    driver.reboot(UUID)  # a stopped guest is started
    assert driver.get_power_state(UUID) == "running"


def test_reboot_without_reset_support_destroys_and_starts(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path
) -> None:
    driver.spawn(spec(tmp_path))
    events: list[tuple[str, str]] = []
    driver.register_lifecycle_callback(lambda uuid, state: events.append((uuid, state)))
    conn.fail["reset"] = libvirt.VIR_ERR_NO_SUPPORT
    driver.reboot(UUID)
    assert events == [(UUID, "shutoff"), (UUID, "running")]


def test_reboot_reports_other_reset_errors(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path
) -> None:
    driver.spawn(spec(tmp_path))
    conn.fail["reset"] = libvirt.VIR_ERR_OPERATION_FAILED
    with pytest.raises(errors.HypervisorError) as caught:
        driver.reboot(UUID)
    assert caught.value.code == libvirt.VIR_ERR_OPERATION_FAILED


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.power_off(OTHER),
        lambda d: d.power_on(OTHER),
        lambda d: d.reboot(OTHER),
        lambda d: d.get_power_state(OTHER),
        lambda d: d.get_domain_xml(OTHER),
        lambda d: d.get_console_output(OTHER),
    ],
)
def test_unknown_instance_is_not_found(driver: LibvirtDriver, call: object) -> None:
    with pytest.raises(errors.NotFound) as caught:
        call(driver)  # type: ignore[operator]
    assert OTHER in str(caught.value)


def test_lookup_errors_other_than_no_domain_are_hypervisor_errors(
    driver: LibvirtDriver, conn: FakeConnection
) -> None:
    conn.fail["lookupByUUIDString"] = libvirt.VIR_ERR_NO_CONNECT
    with pytest.raises(errors.HypervisorError) as caught:
        driver.get_power_state(UUID)
    assert caught.value.code == libvirt.VIR_ERR_NO_CONNECT


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (libvirt.VIR_DOMAIN_NOSTATE, "nostate"),
        (libvirt.VIR_DOMAIN_RUNNING, "running"),
        (libvirt.VIR_DOMAIN_BLOCKED, "running"),
        (libvirt.VIR_DOMAIN_PAUSED, "paused"),
        (libvirt.VIR_DOMAIN_SHUTOFF, "shutoff"),
        (libvirt.VIR_DOMAIN_CRASHED, "crashed"),
        (99, "nostate"),
    ],
)
def test_power_state_mapping(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path, state: int, expected: str
) -> None:
    driver.spawn(spec(tmp_path))
    conn.domains[UUID].state_code = state
    assert driver.get_power_state(UUID) == expected


def test_console_output_is_the_tail_of_the_log(driver: LibvirtDriver, tmp_path: Path) -> None:
    driver.spawn(spec(tmp_path))
    assert driver.get_console_output(UUID) == ""
    log = tmp_path / "instances" / UUID / "console.log"
    log.write_bytes(b"boot\n" + b"x" * 100 + b"\nREADY \xff\n")
    assert driver.get_console_output(UUID).endswith("READY \ufffd\n")
    assert driver.get_console_output(UUID, max_bytes=7) == "EADY \ufffd\n"
    os.remove(log)
    assert driver.get_console_output(UUID) == ""


def test_list_only_our_domains(driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path) -> None:
    driver.spawn(spec(tmp_path))
    driver.spawn(spec(tmp_path, uuid=OTHER))
    conn.defineXML("<domain type='qemu'><name>someone-else</name><uuid>abc</uuid></domain>")
    assert driver.list_instance_uuids() == [UUID, OTHER]


def test_lifecycle_callbacks(driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    broken_calls: list[str] = []

    def broken(uuid: str, state: str) -> None:
        broken_calls.append(uuid)
        raise RuntimeError("listener bug")

    driver.register_lifecycle_callback(broken)
    driver.register_lifecycle_callback(lambda uuid, state: seen.append((uuid, state)))
    assert len(conn.callbacks) == 1  # one libvirt registration for all listeners
    driver.spawn(spec(tmp_path))
    driver.power_off(UUID)
    foreign = conn.defineXML("<domain><name>other</name><uuid>abc</uuid></domain>")
    foreign.create()
    assert seen == [(UUID, "running"), (UUID, "shutoff")]
    assert broken_calls == [UUID, UUID]


def test_discover_is_cached_for_spawn(driver: LibvirtDriver) -> None:
    first = driver.host_info()
    assert driver.host_info() is first
    assert driver.discover() is not first


def test_failed_cleanup_does_not_hide_the_original_error(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path
) -> None:
    conn.fail["create"] = libvirt.VIR_ERR_INTERNAL_ERROR
    conn.fail["undefineFlags"] = libvirt.VIR_ERR_SYSTEM_ERROR
    with pytest.raises(errors.HypervisorError) as caught:
        driver.spawn(spec(tmp_path))
    assert caught.value.code == libvirt.VIR_ERR_INTERNAL_ERROR


def test_relative_data_dir_gives_absolute_guest_paths(
    conn: FakeConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    driver = LibvirtDriver(conn, make_conf(data_dir="rel", libvirt__virt_type="qemu", **NO_SETTLE))
    driver.spawn(with_guest(GuestSpec(instance_uuid=UUID, name="vm", vcpus=1, memory_mb=64)))
    domain = config.Domain.parse(driver.get_domain_xml(UUID))
    assert domain.devices is not None and domain.devices.consoles[0].log is not None
    assert domain.devices.consoles[0].log.file == str(
        tmp_path / "rel" / "instances" / UUID / "console.log"
    )
    driver.destroy(UUID)
    assert not (tmp_path / "rel" / "instances" / UUID).exists()


class VanishingDomain:
    """A domain handle whose domain another client removed after the lookup."""

    def __init__(self, uuid: str) -> None:
        self.uuid = uuid

    def __getattr__(self, name: str) -> object:
        def gone(*_args: object) -> None:
            raise libvirt_error(libvirt.VIR_ERR_NO_DOMAIN, f"no domain with uuid {self.uuid}")

        return gone


def test_domain_vanishing_between_calls(
    driver: LibvirtDriver, conn: FakeConnection, tmp_path: Path
) -> None:
    driver.spawn(spec(tmp_path))
    conn.domains[UUID] = VanishingDomain(UUID)  # type: ignore[assignment]
    with pytest.raises(errors.NotFound):
        driver.get_power_state(UUID)
    with pytest.raises(errors.NotFound):
        driver.get_domain_xml(UUID)
    with pytest.raises(errors.NotFound):
        driver.reboot(UUID)
    driver.destroy(UUID)  # still idempotent: the files go
    assert not (tmp_path / "instances" / UUID).exists()
