"""Contract checks: the simulator against the real libvirt on this machine.

The capabilities XML has the same element paths for what the driver reads, and the same
bad domain XML fails with the same error code (and in the same phase) on both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import libvirt
import pytest
from lxml import etree

from virtfleet.virt.sim import SimConnection

from .conftest import domain_xml

pytestmark = pytest.mark.libvirt

# Paths (and their attributes) the driver reads from getCapabilities().
DRIVER_READS = (
    "host/uuid",
    "host/cpu/arch",
    "host/cpu/model",
    "host/cpu/vendor",
    "host/cpu/topology",
    "host/cpu/maxphysaddr",
    "host/cpu/feature",
    "host/topology/cells/cell",
    "host/topology/cells/cell/memory",
    "host/topology/cells/cell/cpus",
    "host/topology/cells/cell/cpus/cpu",
    "guest/os_type",
    "guest/arch",
    "guest/arch/wordsize",
    "guest/arch/emulator",
    "guest/arch/machine",
    "guest/arch/domain",
)


@pytest.fixture(scope="module")
def real() -> Iterator[libvirt.virConnect]:
    conn = libvirt.open("qemu:///system")
    yield conn
    conn.close()


def shape(xml: str, guest_arch: str = "x86_64") -> dict[str, set[str]]:
    """path -> attribute names, for the driver's paths (guests limited to one arch)."""
    root = etree.fromstring(xml.encode())
    result: dict[str, set[str]] = {}
    for path in DRIVER_READS:
        query = path
        if path.startswith("guest/"):
            query = f"guest[arch/@name='{guest_arch}']/" + path.removeprefix("guest/")
        elif path == "guest":
            query = f"guest[arch/@name='{guest_arch}']"
        elements = root.findall(query) if "[" not in query else root.xpath(query)
        if elements:
            result[path] = set().union(*(set(e.attrib) for e in elements))
    return result


def test_capabilities_have_the_real_shape(real: libvirt.virConnect, kvm1: SimConnection) -> None:
    real_xml, sim_xml = real.getCapabilities(), kvm1.getCapabilities()
    assert shape(sim_xml) == shape(real_xml)
    real_root, sim_root = etree.fromstring(real_xml.encode()), etree.fromstring(sim_xml.encode())
    for root in (real_root, sim_root):
        x86 = root.xpath("guest[arch/@name='x86_64']/arch")[0]
        assert set(x86.xpath("domain/@type")) == {"qemu", "kvm"}
        aliases = {m.text: m.get("canonical") for m in x86.findall("machine") if m.get("canonical")}
        assert set(aliases) == {"pc", "q35"}
        assert aliases["q35"].startswith("pc-q35-")
        aarch64 = root.xpath("guest[arch/@name='aarch64']/arch")[0]
        assert aarch64.xpath("domain/@type") == ["qemu"]
        assert aarch64.findtext("emulator") == "/usr/bin/qemu-system-aarch64"
    real_machines = set(real_root.xpath("guest[arch/@name='aarch64']/arch/machine/text()"))
    sim_machines = set(sim_root.xpath("guest[arch/@name='aarch64']/arch/machine/text()"))
    assert {"virt", "virt-7.2", "sbsa-ref"} <= real_machines & sim_machines


def test_host_facts_have_the_real_types(real: libvirt.virConnect, kvm1: SimConnection) -> None:
    assert real.getType() == kvm1.getType() == "QEMU"
    real_info, sim_info = real.getInfo(), kvm1.getInfo()
    assert [type(v) for v in real_info] == [type(v) for v in sim_info]
    assert isinstance(real.getLibVersion(), int) and isinstance(kvm1.getLibVersion(), int)


def unique(name: str) -> str:
    return f"virtfleet-contract-{name}-{uuid.uuid4().hex[:8]}"


# (domain_xml arguments, the phase that fails)
SAME_REFUSALS: list[tuple[str, dict[str, object], str]] = [
    (
        "machine not offered for arch",
        {"arch": "aarch64", "machine": "q35", "domain_type": "qemu"},
        "define",
    ),
    ("kvm for aarch64", {"arch": "aarch64", "machine": "virt", "domain_type": "kvm"}, "define"),
    ("arch not offered", {"arch": "sparc64", "machine": "sun4u", "domain_type": "qemu"}, "define"),
    (
        "too many vCPUs for the machine",
        {"domain_type": "qemu", "machine": "pc", "vcpus": 300},
        "define",
    ),
    (
        "maxphysaddr on aarch64",
        {
            "arch": "aarch64",
            "machine": "virt",
            "domain_type": "qemu",
            "cpu": "<cpu mode='custom'><model>cortex-a57</model>"
            "<maxphysaddr mode='emulate' bits='42'/></cpu>",
        },
        "define",
    ),
    (
        "host-passthrough under TCG for aarch64",
        {
            "arch": "aarch64",
            "machine": "virt",
            "domain_type": "qemu",
            "cpu": "<cpu mode='host-passthrough'/>",
        },
        "create",
    ),
    ("UEFI without ACPI on x86_64", {"domain_type": "qemu", "firmware": "efi"}, "define"),
    (
        "UEFI on riscv64 without firmware",
        {"arch": "riscv64", "machine": "virt", "domain_type": "qemu", "firmware": "efi"},
        "create",
    ),
    (
        "memory bound to a NUMA node the host lacks",
        {
            "domain_type": "qemu",
            "machine": "pc",
            "extra": "<numatune><memory mode='strict' nodeset='3'/></numatune>",
        },
        "create",
    ),
    (
        "vCPU pinned to a CPU the host lacks",
        {
            "domain_type": "qemu",
            "machine": "pc",
            "extra": "<cputune><vcpupin vcpu='0' cpuset='40'/></cputune>",
        },
        "create",
    ),
    (
        "cpu for riscv64",
        {
            "arch": "riscv64",
            "machine": "virt",
            "domain_type": "qemu",
            "cpu": "<cpu mode='custom'><model>rv64</model></cpu>",
        },
        "create",
    ),
]


def attempt(conn: object, xml: str) -> tuple[str, int | None]:
    """Define and start ``xml``; the failing phase and code (cleaning up after itself)."""
    phase, dom = "define", None
    try:
        dom = conn.defineXML(xml)  # type: ignore[attr-defined]  # real or simulated
        phase = "create"
        dom.create()
        return "none", None
    except libvirt.libvirtError as exc:
        return phase, exc.get_error_code()
    finally:
        if dom is not None:
            if dom.isActive():
                dom.destroy()
            dom.undefine()


@pytest.mark.parametrize(
    ("what", "kwargs", "phase"), SAME_REFUSALS, ids=[r[0] for r in SAME_REFUSALS]
)
def test_same_bad_xml_fails_the_same_way(
    what: str,
    kwargs: dict[str, object],
    phase: str,
    real: libvirt.virConnect,
    kvm1: SimConnection,
) -> None:
    xml = domain_xml(unique("bad"), memory_mib=64, **kwargs)  # type: ignore[arg-type]
    real_result = attempt(real, xml)
    assert real_result[0] == phase, real_result
    assert attempt(kvm1, xml) == real_result


@pytest.mark.parametrize(
    "xml",
    ["<domain type='qemu'><name>x</name>", "<foo/>", "<domain type='qemu'><name>x</name></domain>"],
)
def test_same_malformed_xml_code(xml: str, real: libvirt.virConnect, kvm1: SimConnection) -> None:
    assert attempt(kvm1, xml) == attempt(real, xml)


def test_same_lookup_and_state_errors(real: libvirt.virConnect, kvm1: SimConnection) -> None:
    codes: list[list[int | None]] = []
    for conn in (real, kvm1):
        found: list[int | None] = []
        calls: list[Callable[[], object]] = [
            lambda c=conn: c.lookupByName(unique("missing")),
            lambda c=conn: c.lookupByUUIDString(str(uuid.uuid4())),
        ]
        for call in calls:
            with pytest.raises(libvirt.libvirtError) as excinfo:
                call()
            found.append(excinfo.value.get_error_code())
        name = unique("state")
        dom = conn.defineXML(domain_xml(name, domain_type="qemu", machine="pc", memory_mib=64))
        try:
            with pytest.raises(libvirt.libvirtError) as excinfo:
                dom.destroy()
            found.append(excinfo.value.get_error_code())
            with pytest.raises(libvirt.libvirtError) as excinfo:
                conn.defineXML(
                    domain_xml(name, domain_type="qemu", machine="pc", uuid=str(uuid.uuid4()))
                )
            found.append(excinfo.value.get_error_code())
        finally:
            dom.undefine()
        codes.append(found)
    assert codes[0] == codes[1]


@pytest.mark.parametrize(("arch", "machine"), [("x86_64", "pc"), ("aarch64", "virt")])
def test_domain_capabilities_have_the_real_shape(
    arch: str, machine: str, real: libvirt.virConnect, kvm1: SimConnection
) -> None:
    emulator = f"/usr/bin/qemu-system-{arch}"
    docs = [
        etree.fromstring(conn.getDomainCapabilities(emulator, arch, machine, "qemu", 0).encode())
        for conn in (real, kvm1)
    ]
    real_doc, sim_doc = docs
    assert [e.tag for e in sim_doc] == [e.tag for e in real_doc]
    for path in ("path", "domain", "arch"):
        assert sim_doc.findtext(path) == real_doc.findtext(path)
    assert real_doc.findtext("machine").startswith(machine)
    assert sim_doc.findtext("machine").startswith(machine)
    modes = [{m.get("name") for m in doc.findall("cpu/mode")} for doc in docs]
    assert modes[0] == modes[1]
    supported = [
        {m.get("name"): m.get("supported") for m in doc.findall("cpu/mode")}["host-passthrough"]
        for doc in docs
    ]
    assert supported == ["no", "no"]  # TCG never offers host-passthrough
    device_tags = [[e.tag for e in doc.find("devices")] for doc in docs]
    assert device_tags[0] == device_tags[1]
