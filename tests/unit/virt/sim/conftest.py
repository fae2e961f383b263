"""Fixtures for the simulated hypervisor: a fresh sample fleet per test (so hosts share
no state between tests) and helpers to build domain XML."""

from __future__ import annotations

from collections.abc import Callable

import libvirt
import pytest

from virtfleet.virt.connection import open_connection
from virtfleet.virt.sim import Fleet, SimConnection, default_fleet


@pytest.fixture
def fleet() -> Fleet:
    return default_fleet()


@pytest.fixture
def connect(fleet: Fleet) -> Callable[[str], SimConnection]:
    def opener(host: str) -> SimConnection:
        conn: SimConnection = open_connection(f"sim://{host}", fleet)
        return conn

    return opener


@pytest.fixture
def kvm1(connect: Callable[[str], SimConnection]) -> SimConnection:
    return connect("kvm-1")


def domain_xml(
    name: str = "guest",
    *,
    domain_type: str = "kvm",
    arch: str = "x86_64",
    machine: str | None = "q35",
    memory_mib: int = 512,
    vcpus: int = 1,
    cpu: str = "",
    devices: str = "",
    uuid: str | None = None,
    extra: str = "",
    firmware: str | None = None,
) -> str:
    """A small domain XML; every part can be varied to provoke one refusal."""
    machine_attr = f" machine='{machine}'" if machine else ""
    uuid_element = f"<uuid>{uuid}</uuid>" if uuid else ""
    os_attr = f" firmware='{firmware}'" if firmware else ""
    return (
        f"<domain type='{domain_type}'><name>{name}</name>{uuid_element}"
        f"<memory unit='MiB'>{memory_mib}</memory><vcpu>{vcpus}</vcpu>"
        f"<os{os_attr}><type arch='{arch}'{machine_attr}>hvm</type></os>{cpu}{extra}"
        f"<devices>{devices}</devices></domain>"
    )


def mdev_hostdev(uuid: str) -> str:
    return (
        "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>"
        f"<source><address uuid='{uuid}'/></source></hostdev>"
    )


def pci_hostdev(bus: str, domain: str = "0x0000") -> str:
    return (
        "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
        f"<address domain='{domain}' bus='{bus}' slot='0x00' function='0x0'/>"
        "</source></hostdev>"
    )


def mdev_device_xml(parent: str, type_id: str = "nvidia-222", uuid: str | None = None) -> str:
    uuid_element = f"<uuid>{uuid}</uuid>" if uuid else ""
    return (
        f"<device><parent>{parent}</parent><capability type='mdev'>"
        f"<type id='{type_id}'/>{uuid_element}</capability></device>"
    )


def error_code(excinfo: pytest.ExceptionInfo[libvirt.libvirtError]) -> int | None:
    return excinfo.value.get_error_code()


def assert_refused(call: Callable[[], object], code: int, message: str) -> None:
    """``call`` raises a libvirt error with ``code`` whose text contains ``message``."""
    with pytest.raises(libvirt.libvirtError) as excinfo:
        call()
    assert excinfo.value.get_error_code() == code
    assert message in str(excinfo.value)
