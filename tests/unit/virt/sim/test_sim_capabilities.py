"""Capabilities, domain capabilities and host facts of every sample host."""

from __future__ import annotations

from collections.abc import Callable

import libvirt
import pytest
from lxml import etree

from virtfleet.virt.sim import Fleet, SimConnection
from virtfleet.virt.sim.machines import arch_info

# host -> (host arch, guest arches, arches with domain type kvm, maxphysaddr bits)
EXPECTED = {
    "kvm-1": (
        "x86_64",
        {"x86_64", "i686", "aarch64", "ppc64le", "s390x", "riscv64", "mipsel"},
        {"x86_64", "i686"},
        "46",
    ),
    "passthrough-1": ("x86_64", {"x86_64", "i686", "aarch64"}, {"x86_64", "i686"}, "52"),
    "arm-1": ("aarch64", {"aarch64", "x86_64"}, {"aarch64"}, None),
    "old-1": ("x86_64", {"x86_64", "i686"}, {"x86_64", "i686"}, "39"),
    "slice-1": ("x86_64", {"x86_64", "i686"}, {"x86_64", "i686"}, "48"),
    "vgpu-1": ("x86_64", {"x86_64", "i686"}, {"x86_64", "i686"}, None),
}


def guest(caps: etree._Element, arch: str) -> etree._Element:
    (element,) = caps.xpath(f"/capabilities/guest[arch/@name='{arch}']")
    return element


@pytest.mark.parametrize("host", sorted(EXPECTED))
def test_capabilities_describe_the_host(host: str, connect: Callable[[str], SimConnection]) -> None:
    host_arch, arches, kvm, bits = EXPECTED[host]
    caps = etree.fromstring(connect(host).getCapabilities().encode())
    assert caps.findtext("host/cpu/arch") == host_arch
    assert caps.findtext("host/uuid")
    features = set(caps.xpath("host/cpu/feature/@name"))
    assert ("avx2" in features) == (host_arch == "x86_64")
    maxphysaddr = caps.find("host/cpu/maxphysaddr")
    if bits is None:
        assert maxphysaddr is None
    else:
        assert maxphysaddr is not None
        assert (maxphysaddr.get("mode"), maxphysaddr.get("bits")) == ("emulate", bits)
    assert set(caps.xpath("/capabilities/guest/arch/@name")) == arches
    assert all(g.findtext("os_type") == "hvm" for g in caps.findall("guest"))
    for arch in arches:
        element = guest(caps, arch)
        domain_types = set(element.xpath("arch/domain/@type"))
        assert domain_types == ({"qemu", "kvm"} if arch in kvm else {"qemu"}), arch
        assert element.findtext("arch/emulator").startswith("/usr/bin/qemu-system-")
        assert element.findtext("arch/wordsize") in ("32", "64")
        assert element.findall("arch/machine"), arch


def test_machines_follow_the_hosts_qemu_version(fleet: Fleet, connect: Callable) -> None:
    new = etree.fromstring(connect("kvm-1").getCapabilities().encode())  # QEMU 8.2
    old = etree.fromstring(connect("old-1").getCapabilities().encode())  # QEMU 6.2
    (q35_new,) = guest(new, "x86_64").xpath("arch/machine[text()='q35']")
    (q35_old,) = guest(old, "x86_64").xpath("arch/machine[text()='q35']")
    assert q35_new.get("canonical") == "pc-q35-8.2" and q35_new.get("maxCpus") == "288"
    assert q35_old.get("canonical") == "pc-q35-6.2"
    old_names = set(guest(old, "x86_64").xpath("arch/machine/text()"))
    assert "pc-q35-6.2" in old_names and "pc-q35-7.0" not in old_names
    assert "pc-q35-8.1" in set(guest(new, "x86_64").xpath("arch/machine/text()"))
    (virt,) = guest(new, "aarch64").xpath("arch/machine[text()='virt']")
    assert virt.get("canonical") == "virt-8.2"
    (pseries,) = guest(new, "ppc64le").xpath("arch/machine[text()='pseries']")
    assert pseries.get("canonical") == "pseries-8.2"
    assert guest(new, "aarch64").findtext("arch/emulator") == "/usr/bin/qemu-system-aarch64"
    assert guest(new, "i686").findtext("arch/emulator") == "/usr/bin/qemu-system-i386"
    assert "malta" in guest(new, "mipsel").xpath("arch/machine/text()")
    assert "q35" not in guest(new, "aarch64").xpath("arch/machine/text()")


def test_machine_table_keeps_unversioned_machines() -> None:
    riscv = arch_info("riscv64", (8, 2))
    assert {m.name for m in riscv.machines} >= {"virt", "spike", "sifive_u"}
    assert riscv.canonical_name("virt") == "virt"
    assert arch_info("x86_64", (8, 2)).canonical_name("pc") == "pc-i440fx-8.2"


def test_numa_cells_of_the_slice_host(connect: Callable[[str], SimConnection]) -> None:
    caps = etree.fromstring(connect("slice-1").getCapabilities().encode())
    cells = caps.findall("host/topology/cells/cell")
    assert [cell.get("id") for cell in cells] == ["0", "1"]
    assert [cell.find("cpus").get("num") for cell in cells] == ["32", "32"]
    assert cells[1].xpath("cpus/cpu/@id")[0] == "32"
    assert [cell.findtext("memory") for cell in cells] == [str(256 * 1024 * 1024)] * 2
    assert caps.find("host/iommu").get("support") == "yes"


def test_host_facts(connect: Callable[[str], SimConnection]) -> None:
    conn = connect("old-1")
    assert conn.getLibVersion() == 8_005_000
    assert conn.getVersion() == 6_002_000
    assert conn.getHostname() == "old-1"
    assert conn.getType() == "QEMU"
    assert conn.getURI() == "sim://old-1"
    assert conn.getInfo() == ["x86_64", 65536, 16, 2400, 1, 1, 16, 1]
    assert conn.getSimDiskGB() == 2000
    assert conn.isAlive() == 1


def test_domain_capabilities_per_arch_and_virt_type(
    connect: Callable[[str], SimConnection],
) -> None:
    conn = connect("kvm-1")
    kvm = etree.fromstring(conn.getDomainCapabilities(None, "x86_64", "q35", "kvm", 0).encode())
    assert kvm.findtext("domain") == "kvm" and kvm.findtext("machine") == "pc-q35-8.2"
    assert kvm.find("vcpu").get("max") == "288"
    modes = {m.get("name"): m.get("supported") for m in kvm.findall("cpu/mode")}
    assert modes["host-passthrough"] == "yes" and modes["host-model"] == "yes"
    assert kvm.findtext("cpu/mode[@name='host-model']/model") == "EPYC-Rome"
    tcg = etree.fromstring(
        conn.getDomainCapabilities(
            "/usr/bin/qemu-system-aarch64", "aarch64", None, "qemu", 0
        ).encode()
    )
    assert tcg.findtext("path") == "/usr/bin/qemu-system-aarch64"
    assert tcg.findtext("machine") == "virt-8.2" and tcg.findtext("arch") == "aarch64"
    modes = {m.get("name"): m.get("supported") for m in tcg.findall("cpu/mode")}
    assert modes["host-passthrough"] == "no" and modes["host-model"] == "no"
    assert "efi" in tcg.xpath("os/enum[@name='firmware']/value/text()")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, "sparc64", None, "qemu"), "unable to find any emulator to serve 'sparc64'"),
        (("/usr/bin/qemu-system-sparc", None, None, None), "unable to find any emulator"),
        ((None, "aarch64", None, "kvm"), "KVM is not supported by"),
        ((None, "aarch64", "q35", "qemu"), "the machine 'q35' is not supported"),
    ],
)
def test_domain_capabilities_refusals(
    args: tuple[str | None, ...], message: str, kvm1: SimConnection
) -> None:
    with pytest.raises(libvirt.libvirtError, match=message) as excinfo:
        kvm1.getDomainCapabilities(*args, 0)
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


@pytest.mark.parametrize(
    ("arch", "machine", "has_ide"),
    [
        ("x86_64", "pc", True),
        ("x86_64", "pc-i440fx-8.2", True),
        ("x86_64", "q35", False),
        ("aarch64", "virt", False),
        ("mipsel", "malta", True),
    ],
)
def test_disk_bus_ide_only_on_machines_with_an_ide_bus(
    arch: str, machine: str, has_ide: bool, kvm1: SimConnection
) -> None:
    """As libvirt: q35 and virt have no IDE controller, i440fx and malta do."""
    xml = kvm1.getDomainCapabilities(f"/usr/bin/qemu-system-{arch}", arch, machine, "qemu", 0)
    buses = etree.fromstring(xml.encode()).xpath("devices/disk/enum[@name='bus']/value/text()")
    assert ("ide" in buses) is has_ide
    assert {"virtio", "scsi"} <= set(buses)
