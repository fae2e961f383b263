"""The KVM probe at agent start: a host that offers KVM but cannot run a KVM guest
(nested KVM that QEMU cannot drive, as on the CI machines) falls back to TCG with a
warning, or refuses to start with the reason; a host where KVM works keeps it."""

from __future__ import annotations

import logging
import platform
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.virt.libvirt import kvm_probe
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import SimConnection, load_fleet
from virtfleet.virt.sim.registry import hypervisor_for

QEMU_MESSAGE = (
    "internal error: process exited while connecting to monitor: 2026-12-07T00:18:31Z "
    "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n"
    "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion"
)


def test_the_reason_is_qemus_own_error_line() -> None:
    assert kvm_probe._summary(QEMU_MESSAGE) == "failed to set MSR 0x10a to 0x69"
    assert kvm_probe._summary("Cannot access /dev/kvm\nmore") == "Cannot access /dev/kvm"


def test_probe_domain_is_tiny_paused_kvm_of_the_host_arch() -> None:
    xml = kvm_probe.probe_xml("x86_64", "/usr/bin/qemu-system-x86_64", "q35", "host-model")
    assert xml.startswith("<domain type='kvm'><name>virtfleet-kvm-probe-")
    assert "<memory unit='MiB'>16</memory>" in xml
    assert '<type arch="x86_64" machine="q35">hvm</type>' in xml
    assert '<cpu mode="host-model"/>' in xml


def test_a_simulated_kvm_host_passes_the_probe(tmp_path: Path) -> None:
    fleet = load_fleet("hosts:\n  - {name: kvm-x, arch: x86_64, virt_type: kvm}\n")
    conn = SimConnection(hypervisor_for(fleet, "kvm-x"))
    driver = LibvirtDriver(conn, make_conf(data_dir=str(tmp_path), libvirt__virt_type="kvm"))
    info = driver.discover()
    assert info.virt_type == "kvm" and "x86_64" in info.kvm_arches
    assert conn.listAllDomains(0) == []  # the probe domain is gone


def kvm_runs_a_guest() -> bool:
    """Independently of virtfleet: can QEMU itself reset a vCPU under KVM here?"""
    qmp = '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n'
    result = subprocess.run(
        ["qemu-system-x86_64", "-accel", "kvm", "-machine", "q35", "-cpu", "host", "-m", "16",
         "-nodefaults", "-display", "none", "-S", "-qmp", "stdio"],
        input=qmp, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return "error" not in result.stderr and result.returncode == 0


@pytest.fixture(scope="module")
def conn() -> Iterator[Any]:
    connection = libvirt.open("qemu:///system")
    yield connection
    connection.close()


@pytest.mark.libvirt
def test_the_real_host_falls_back_to_tcg_or_keeps_kvm(
    conn: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if platform.machine() != "x86_64" or not Path("/dev/kvm").exists():
        pytest.skip("the probe matters where /dev/kvm exists (x86_64 host)")
    works = kvm_runs_a_guest()
    conf = make_conf(data_dir=str(tmp_path), libvirt__virt_type="kvm")
    with caplog.at_level(logging.WARNING):
        info = LibvirtDriver(conn, conf).discover()
    if works:
        assert info.virt_type == "kvm" and "x86_64" in info.kvm_arches
    else:
        assert info.virt_type == "qemu" and info.kvm_arches == ()
        assert info.cpu_mode == "custom"  # TCG's named model, not host-model
        assert "KVM cannot run a guest on this host" in caplog.text
    left = [d.name() for d in conn.listAllDomains(0)]
    assert not any(name.startswith(kvm_probe.PROBE_PREFIX) for name in left), left

    refuse = make_conf(
        data_dir=str(tmp_path), libvirt__virt_type="kvm", libvirt__kvm_unusable="refuse"
    )
    if works:
        assert LibvirtDriver(conn, refuse).discover().virt_type == "kvm"
    else:
        with pytest.raises(errors.HypervisorError, match="KVM cannot run a guest on this host: "):
            LibvirtDriver(conn, refuse).discover()
