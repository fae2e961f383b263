"""Graceful stop in the driver, on simulated hosts whose guests honour or ignore the
ACPI power button: stop, soft reboot and destroy ask first and force only after the
timeout; a hard reboot and a timeout of 0 force at once."""

from __future__ import annotations

import pathlib
import time

import libvirt
import pytest

from support.guest import with_guest
from virtfleet.conf import make_conf
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import load_fleet
from virtfleet.virt.types import GuestSpec

UUID = "11111111-2222-4333-8444-555555555555"
FLEET = """
defaults: {arch: x86_64, virt_type: kvm, cpus: 4, memory_mb: 4096}
hosts:
  - {name: polite}
  - {name: deaf, guest_acpi: ignore}
"""


def driver_on(host: str, tmp_path: pathlib.Path) -> LibvirtDriver:
    conn = open_connection(f"sim://{host}", load_fleet(FLEET))
    conf = make_conf(data_dir=str(tmp_path), libvirt__spawn_settle_seconds=0)
    driver = LibvirtDriver(conn, conf)
    driver.spawn(with_guest(GuestSpec(instance_uuid=UUID, name="vm", vcpus=1, memory_mb=64)))
    return driver


def shutoff_reason(driver: LibvirtDriver) -> int:
    state, reason = driver.connection.lookupByUUIDString(UUID).state(0)
    assert state == libvirt.VIR_DOMAIN_SHUTOFF
    return reason


def test_a_guest_that_honours_acpi_shuts_down_cleanly(tmp_path: pathlib.Path) -> None:
    driver = driver_on("polite", tmp_path)
    started = time.monotonic()
    driver.power_off(UUID, shutdown_timeout=30)
    assert time.monotonic() - started < 5
    assert shutoff_reason(driver) == libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN


def test_a_guest_that_ignores_acpi_is_forced_after_the_timeout(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    driver = driver_on("deaf", tmp_path)
    started = time.monotonic()
    driver.power_off(UUID, shutdown_timeout=1)
    assert 1 <= time.monotonic() - started < 5
    assert shutoff_reason(driver) == libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED
    assert "did not shut down within 1s: forcing it off" in caplog.text


def test_timeout_zero_forces_at_once(tmp_path: pathlib.Path) -> None:
    driver = driver_on("polite", tmp_path)
    driver.power_off(UUID, shutdown_timeout=0)
    assert shutoff_reason(driver) == libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED


def test_soft_reboot_restarts_after_a_clean_shutdown_or_resets(tmp_path: pathlib.Path) -> None:
    polite = driver_on("polite", tmp_path / "p")
    domain = polite.connection.lookupByUUIDString(UUID)
    first = domain.ID()  # type: ignore[attr-defined]  # a simulator extra
    polite.reboot(UUID, hard=False, shutdown_timeout=30)
    assert polite.get_power_state(UUID) == "running"
    assert domain.ID() != first  # type: ignore[attr-defined]  # shut down, started again
    deaf = driver_on("deaf", tmp_path / "d")
    started = time.monotonic()
    deaf.reboot(UUID, hard=False, shutdown_timeout=1)
    assert time.monotonic() - started >= 1  # waited, then reset
    assert deaf.get_power_state(UUID) == "running"
    started = time.monotonic()
    deaf.reboot(UUID, hard=True, shutdown_timeout=30)  # hard: never waits
    assert time.monotonic() - started < 1


def test_destroy_asks_first(tmp_path: pathlib.Path) -> None:
    deaf = driver_on("deaf", tmp_path)
    started = time.monotonic()
    deaf.destroy(UUID, shutdown_timeout=1)
    assert time.monotonic() - started >= 1
    assert deaf.list_instance_uuids() == []
