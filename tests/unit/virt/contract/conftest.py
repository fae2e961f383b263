"""Contract suite: each case runs once against a simulated host and once against the
real libvirtd at ``qemu:///system`` (marked ``libvirt``; skipped off CI when there is
none, an error under ``CI=true`` -- see tests/conftest.py).

The simulated host is the ``CONTRACT_FLEET`` profile below, written to look like this
kind of machine (x86_64, KVM, libvirt 9.0.0, QEMU 7.2, TCG emulators for five foreign
arches), so the facts the driver derives from both must agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from virtfleet.conf import make_conf
from virtfleet.virt import event_loop
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import Fleet, load_fleet

REAL_URI = "qemu:///system"
SIM_HOSTS = ("contract-1", "contract-2")
CONTRACT_FLEET = """\
version: 1
hosts:
  - name: contract
    count: 2
    arch: x86_64
    virt_type: kvm
    libvirt_version: "9.0.0"
    qemu_version: "7.2.0"
    cpus: 2
    memory_mb: 8192
    disk_gb: 100
    cpu_mode: host-model
    cpu_model: EPYC
    maxphysaddr_bits: 48
    emulators: [aarch64, ppc64le, s390x, riscv64, mipsel]
"""

HYPERVISORS = [
    pytest.param("sim", id="sim"),
    pytest.param("libvirt", id="libvirt", marks=pytest.mark.libvirt),
]


def _ignore_libvirt_error(_ctx: object, _error: object) -> None:
    """libvirt-python prints every error to stderr by default; tests check codes."""


@pytest.fixture(autouse=True)
def _quiet_libvirt() -> None:
    libvirt.registerErrorHandler(_ignore_libvirt_error, None)


@pytest.fixture
def contract_fleet() -> Fleet:
    """A fresh copy per test: simulated hosts share no state between tests."""
    return load_fleet(CONTRACT_FLEET, source="contract-fleet.yaml")


def open_real(uri: str = REAL_URI) -> Any:
    """A real connection that receives lifecycle events (event loop first)."""
    event_loop.ensure_running()
    return open_connection(uri)


@pytest.fixture(params=HYPERVISORS)
def connection(request: pytest.FixtureRequest, contract_fleet: Fleet) -> Iterator[Any]:
    """A simulated x86_64 host, or the real libvirtd."""
    if request.param == "sim":
        conn = open_connection(f"sim://{SIM_HOSTS[0]}", contract_fleet)
    else:
        conn = open_real()
    yield conn
    conn.close()


def make_driver(conn: Any, data_dir: Path) -> LibvirtDriver:
    """The driver as an agent of a TCG host runs it."""
    return LibvirtDriver(conn, make_conf(data_dir=str(data_dir), libvirt__virt_type="qemu"))


@pytest.fixture
def driver(connection: Any, tmp_path: Path) -> LibvirtDriver:
    return make_driver(connection, tmp_path)
