"""A guest that stops within ``[libvirt] spawn_settle_seconds`` fails its spawn: the
wait itself (scripted domain, fake clock), and the driver on the simulator and on real
libvirt (an s390x guest whose firmware finds nothing to IPL from a blank disk)."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from support.guest import with_guest
from support.virt_payloads import write_payload
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.libvirt.settle import describe_state, wait_settled
from virtfleet.virt.types import GuestSpec

RUNNING = [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED]
CRASHED_OFF = [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED]


class ScriptedDomain:
    """Answers ``state()`` from a list (the last answer repeats)."""

    def __init__(self, *states: list[int]) -> None:
        self.states = list(states)
        self.calls = 0

    def state(self) -> list[int]:
        self.calls += 1
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_guest_that_keeps_running_settles_after_the_wait() -> None:
    clock = FakeClock()
    domain = ScriptedDomain(RUNNING)
    wait_settled(domain, 1.0, None, clock, clock.sleep)
    assert clock.now == pytest.approx(101.0)
    assert domain.calls >= 10  # polled all along, not once at the end


def test_a_guest_that_stops_fails_at_once_with_the_reason_and_console(tmp_path: Path) -> None:
    console = tmp_path / "console.log"
    console.write_text("LOADPARM=[        ]\nUsing virtio-blk.\n\nzIPL load failed.\nNo OS\n")
    clock = FakeClock()
    domain = ScriptedDomain(RUNNING, RUNNING, CRASHED_OFF)
    with pytest.raises(errors.HypervisorError) as caught:
        wait_settled(domain, 5.0, str(console), clock, clock.sleep)
    message = caught.value.message
    assert "the guest stopped within 5 s of starting" in message
    assert "libvirt reports it shut off (crashed)" in message
    assert message.endswith("last console output: Using virtio-blk. | zIPL load failed. | No OS")
    assert clock.now < 101  # did not sit out the whole settle time


@pytest.mark.parametrize(
    ("state", "reason", "words"),
    [
        (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN, "shut off (the guest"),
        (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_FAILED, "failed to start"),
        (libvirt.VIR_DOMAIN_CRASHED, libvirt.VIR_DOMAIN_CRASHED_PANICKED, "crashed (guest panic"),
        (libvirt.VIR_DOMAIN_PAUSED, 99, "paused (reason 99)"),
    ],
)
def test_states_are_described_in_words(state: int, reason: int, words: str) -> None:
    assert words in describe_state(state, reason)
    with pytest.raises(errors.HypervisorError, match="no console output"):
        wait_settled(ScriptedDomain([state, reason]), 1.0, None, FakeClock(), lambda _s: None)


def test_libvirt_failing_to_answer_is_a_hypervisor_error() -> None:
    class Gone:
        def state(self) -> list[int]:
            error = libvirt.libvirtError("Domain not found")
            error.err = (libvirt.VIR_ERR_NO_DOMAIN, 0, "Domain not found", 2, "", "", "", 0, 0)
            raise error

    with pytest.raises(errors.HypervisorError) as caught:
        wait_settled(Gone(), 1.0, None, FakeClock(), lambda _s: None)
    assert caught.value.code == libvirt.VIR_ERR_NO_DOMAIN


# -- the driver: sim and real -----------------------------------------------------------


def _crash_when_running(conn: Any, name: str) -> threading.Thread:
    """On the simulator: crash ``name`` as soon as it runs (what a dying guest does)."""
    hypervisor = conn.hypervisor_checked()

    def crash() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                hypervisor.crash(name)
                return
            except Exception:  # not defined/started yet
                time.sleep(0.01)

    thread = threading.Thread(target=crash, daemon=True)
    thread.start()
    return thread


@pytest.fixture(params=["sim", pytest.param("libvirt", marks=pytest.mark.libvirt)])
def hypervisor(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    uri = "sim://kvm-1" if request.param == "sim" else "qemu:///system"
    conn = open_connection(uri)
    yield request.param, conn
    conn.close()


def test_guest_dying_at_start_fails_the_spawn_and_leaves_nothing(
    hypervisor: tuple[str, Any], tmp_path: Path
) -> None:
    kind, conn = hypervisor
    conf = make_conf(
        data_dir=str(tmp_path), libvirt__virt_type="qemu", libvirt__spawn_settle_seconds=5.0
    )
    driver = LibvirtDriver(conn, conf)
    instance = str(uuid.uuid4())
    instance_dir = tmp_path / "instances" / instance
    if kind == "sim":
        spec = with_guest(GuestSpec(
            instance_uuid=instance, name="dies", vcpus=1, memory_mb=128,
            image_properties={"hw_architecture": "x86_64"},
            kernel_path=str(write_payload("x86_64", tmp_path)),
        ))  # fmt: skip
        _crash_when_running(conn, f"vf-{instance}")
        expected = ["shut off (crashed)"]
    else:  # s390x firmware: no IPL record on a blank disk -> disabled wait -> crashed
        blank = tmp_path / "blank.raw"
        subprocess.run(["qemu-img", "create", "-f", "raw", str(blank), "1M"], check=True)
        spec = with_guest(GuestSpec(
            instance_uuid=instance, name="dies", vcpus=1, memory_mb=128, root_gb=1,
            image_properties={"hw_emulation_architecture": "s390x"},
            image_path=str(blank), image_format="raw",
        ))  # fmt: skip
        # caught while QEMU reports the panic, or after libvirt destroyed the domain
        expected = ["crashed (guest panicked); last", "shut off (crashed); last"]
    with pytest.raises(errors.HypervisorError) as caught:
        driver.spawn(spec)
    assert any(e in caught.value.message for e in expected), caught.value.message
    if kind == "libvirt":
        assert "Failed to load OS from hard disk" in caught.value.message
    assert instance not in driver.list_instance_uuids()
    assert not instance_dir.exists()
