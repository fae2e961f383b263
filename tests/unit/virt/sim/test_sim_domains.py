"""Domains: lifecycle, XML, events, injected crashes, and every refusal with its code.

Which refusals happen at define time and which at start time follows real libvirt 9.0
(probed on qemu:///system): XML, arch, machine, virt type, maxphysaddr and the machine's
vCPU limit at define; CPU modes, CPU driver, memory and host devices at start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libvirt
import pytest
from lxml import etree

from virtfleet.virt.sim import SimConnection, hypervisor_for
from virtfleet.virt.sim.events import wait_for_events

from .conftest import assert_refused, domain_xml, error_code, mdev_hostdev, pci_hostdev

CUSTOM_CPU = "<cpu mode='custom'><model>qemu64</model></cpu>"
UUID = "11111111-2222-3333-4444-555555555555"

Events = list[tuple[str, int, int]]


def record_events(conn: SimConnection) -> Events:
    events: Events = []

    def callback(conn: Any, dom: Any, event: int, detail: int, opaque: Any) -> None:
        events.append((dom.name(), event, detail))

    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, callback, None)
    return events


def test_define_start_stop_undefine(kvm1: SimConnection) -> None:
    dom = kvm1.defineXML(domain_xml("web", uuid=UUID, vcpus=2, memory_mib=1024))
    assert dom.name() == "web" and dom.UUIDString() == UUID
    assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN]
    assert dom.isActive() == 0 and dom.isPersistent() == 1
    assert dom.create() == 0
    assert dom.state() == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED]
    state, max_kib, kib, vcpus, _ = dom.info()
    assert (state, max_kib, kib, vcpus) == (libvirt.VIR_DOMAIN_RUNNING, 1048576, 1048576, 2)
    assert dom.reset(0) == 0 and dom.isActive() == 1
    assert dom.destroy() == 0
    assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED]
    dom.create()
    dom.shutdown()
    assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN]
    assert dom.undefine() == 0
    with pytest.raises(libvirt.libvirtError) as excinfo:
        dom.state()
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


def test_xml_is_normalised_like_libvirt_and_live_form_has_id(kvm1: SimConnection) -> None:
    dom = kvm1.defineXML(domain_xml("web", memory_mib=512))
    inactive = etree.fromstring(dom.XMLDesc(0).encode())
    assert inactive.findtext("uuid") == dom.UUIDString()
    assert inactive.find("memory").get("unit") == "KiB" and inactive.findtext("memory") == "524288"
    assert inactive.find("os/type").get("machine") == "pc-q35-8.2"
    assert inactive.findtext("devices/emulator") == "/usr/bin/qemu-system-x86_64"
    assert inactive.get("id") is None
    dom.create()
    live = etree.fromstring(dom.XMLDesc(0).encode())
    assert live.get("id") == str(dom.ID()) and dom.ID() > 0
    assert etree.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode()).get("id") is None


def test_live_xml_can_be_defined_again(kvm1: SimConnection) -> None:
    dom = kvm1.defineXML(domain_xml("web"))
    dom.create()
    live = dom.XMLDesc(0)
    dom.destroy()
    again = kvm1.defineXML(live)
    assert again == dom
    assert etree.fromstring(again.XMLDesc(0).encode()).get("id") is None


def test_lookups_and_listing(kvm1: SimConnection) -> None:
    running = kvm1.defineXML(domain_xml("a", uuid=UUID))
    running.create()
    kvm1.defineXML(domain_xml("b"))
    assert kvm1.lookupByName("a") == running
    assert kvm1.lookupByUUIDString(UUID.upper()).name() == "a"
    names = lambda flags: sorted(d.name() for d in kvm1.listAllDomains(flags))  # noqa: E731
    assert names(0) == ["a", "b"]
    assert names(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE) == ["a"]
    assert names(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE) == ["b"]
    for lookup, arg in ((kvm1.lookupByName, "zz"), (kvm1.lookupByUUIDString, str(UUID[:-1] + "6"))):
        with pytest.raises(libvirt.libvirtError) as excinfo:
            lookup(arg)
        assert excinfo.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


def test_connections_to_one_host_share_it_but_not_other_hosts(
    connect: Callable[[str], SimConnection],
) -> None:
    connect("kvm-1").defineXML(domain_xml("shared"))
    assert connect("kvm-1").lookupByName("shared").name() == "shared"
    assert connect("kvm-2").listAllDomains(0) == []


def test_redefine_updates_and_transient_domains(kvm1: SimConnection) -> None:
    dom = kvm1.defineXML(domain_xml("a", uuid=UUID, vcpus=1))
    kvm1.defineXML(domain_xml("a", uuid=UUID, vcpus=3))
    assert dom.info()[3] == 3
    dom.create()
    kvm1.defineXML(domain_xml("a", uuid=UUID, vcpus=4))  # applies at the next start
    assert dom.info()[3] == 3
    inactive = etree.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode())
    assert inactive.findtext("vcpu") == "4"
    dom.destroy()
    assert dom.info()[3] == 4
    dom.create()
    dom.undefine()  # running: becomes transient, disappears when it stops
    assert dom.isPersistent() == 0 and dom.isActive() == 1
    dom.destroy()
    assert kvm1.listAllDomains(0) == []
    transient = kvm1.createXML(domain_xml("t"), 0)
    assert transient.isActive() == 1 and transient.isPersistent() == 0
    with pytest.raises(libvirt.libvirtError) as excinfo:
        transient.undefine()
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    transient.destroy()
    assert kvm1.listAllDomains(0) == []


def test_operations_in_the_wrong_state(kvm1: SimConnection) -> None:
    dom = kvm1.defineXML(domain_xml("a"))
    for operation in (dom.destroy, dom.shutdown, lambda: dom.reset(0), dom.abortJob):
        with pytest.raises(libvirt.libvirtError) as excinfo:
            operation()
        assert excinfo.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    dom.create()
    with pytest.raises(libvirt.libvirtError, match="domain is already running") as excinfo:
        dom.create()
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID


# (host, domain_xml arguments, libvirt error code, message fragment)
DEFINE_REFUSALS: list[tuple[str, dict[str, Any], int, str]] = [
    (
        "kvm-1",
        {"arch": "sparc64", "machine": "sun4u"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "No emulator found for arch 'sparc64'",
    ),
    ("kvm-1", {"arch": "vax"}, libvirt.VIR_ERR_CONFIG_UNSUPPORTED, "Unknown architecture vax"),
    (
        "old-1",
        {"arch": "aarch64", "domain_type": "qemu", "machine": "virt"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "No emulator found for arch 'aarch64'",
    ),
    (
        "kvm-1",
        {"arch": "aarch64", "domain_type": "qemu", "machine": "q35"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "Emulator '/usr/bin/qemu-system-aarch64' does not support machine type 'q35'",
    ),
    (
        "kvm-1",
        {"machine": "pc-q35-9.0"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "does not support machine type 'pc-q35-9.0'",
    ),
    (
        "kvm-1",
        {"arch": "aarch64", "machine": "virt"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "Emulator '/usr/bin/qemu-system-aarch64' does not support virt type 'kvm'",
    ),
    (
        "arm-1",
        {"arch": "x86_64"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "Emulator '/usr/bin/qemu-system-x86_64' does not support virt type 'kvm'",
    ),
    (
        "kvm-1",
        {"domain_type": "xen"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "does not support virt type 'xen'",
    ),
    (
        "kvm-1",
        {"domain_type": "bogus"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "invalid domain type bogus",
    ),
    (
        "kvm-1",
        {"vcpus": 300},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "Maximum CPUs greater than specified machine type limit 288",
    ),
    (
        "kvm-1",
        {
            "arch": "aarch64",
            "domain_type": "qemu",
            "machine": "virt",
            "cpu": "<cpu mode='custom'><model>max</model>"
            "<maxphysaddr mode='emulate' bits='42'/></cpu>",
        },
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "CPU maximum physical address bits specification is not supported for 'aarch64'",
    ),
    (
        "kvm-1",
        {"cpu": "<cpu mode='host-passthrough'><maxphysaddr mode='passthrough' bits='40'/></cpu>"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "cannot be used with mode='passthrough'",
    ),
    (
        "kvm-1",
        {"cpu": "<cpu mode='custom'><model>qemu64</model><maxphysaddr mode='emulate'/></cpu>"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "mode='emulate', bits= must be specified too",
    ),
    (
        "old-1",
        {
            "cpu": "<cpu mode='custom'><model>qemu64</model>"
            "<maxphysaddr mode='emulate' bits='36'/></cpu>"
        },
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "need libvirt >= 8.7.0, this host has 8.5.0",
    ),
    (
        "kvm-1",
        {"cpu": "<cpu><maxphysaddr mode='bogus'/></cpu>"},
        libvirt.VIR_ERR_XML_ERROR,
        "Invalid value 'bogus'",
    ),
    (
        "kvm-1",
        {"memory_mib": -1},
        libvirt.VIR_ERR_XML_ERROR,
        "Invalid value '-1' for element or attribute './memory[1]'",
    ),
    ("kvm-1", {"vcpus": 0}, libvirt.VIR_ERR_XML_ERROR, "./vcpu[1]"),
    ("kvm-1", {"uuid": "not-a-uuid"}, libvirt.VIR_ERR_INTERNAL_ERROR, "malformed uuid element"),
    (
        "kvm-1",
        {"firmware": "efi"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "UEFI requires ACPI on this architecture",
    ),
    (
        "vgpu-1",
        {"devices": mdev_hostdev("nope")},
        libvirt.VIR_ERR_XML_ERROR,
        "invalid 'uuid' attribute in mdev source address",
    ),
]


@pytest.mark.parametrize(
    ("host", "kwargs", "code", "message"), DEFINE_REFUSALS, ids=[r[3] for r in DEFINE_REFUSALS]
)
def test_define_refusals(
    host: str,
    kwargs: dict[str, Any],
    code: int,
    message: str,
    connect: Callable[[str], SimConnection],
) -> None:
    conn = connect(host)
    assert_refused(lambda: conn.defineXML(domain_xml(**kwargs)), code, message)
    assert conn.listAllDomains(0) == []


@pytest.mark.parametrize(
    ("xml", "code", "message"),
    [
        (
            "<domain type='kvm'><name>x</name>",
            libvirt.VIR_ERR_XML_DETAIL,
            "(domain_definition):1: ",
        ),
        ("<foo/>", libvirt.VIR_ERR_XML_ERROR, "expecting root element of 'domain', not 'foo'"),
        (
            "<domain type='kvm'><memory>1</memory></domain>",
            libvirt.VIR_ERR_NO_NAME,
            "missing name information",
        ),
        (
            "<domain type='kvm'><name>x</name></domain>",
            libvirt.VIR_ERR_XML_ERROR,
            "Memory size must be specified",
        ),
    ],
)
def test_malformed_xml_refusals(xml: str, code: int, message: str, kvm1: SimConnection) -> None:
    assert_refused(lambda: kvm1.defineXML(xml), code, message)


def test_duplicate_name_and_uuid_are_refused(kvm1: SimConnection) -> None:
    kvm1.defineXML(domain_xml("a", uuid=UUID))
    other = UUID[:-1] + "6"
    with pytest.raises(libvirt.libvirtError, match="domain 'a' already exists with uuid") as e1:
        kvm1.defineXML(domain_xml("a", uuid=other))
    with pytest.raises(libvirt.libvirtError, match="domain 'a' is already defined with uuid") as e2:
        kvm1.defineXML(domain_xml("b", uuid=UUID))
    with pytest.raises(libvirt.libvirtError, match="already exists") as e3:
        kvm1.createXML(domain_xml("a", uuid=other), 0)
    for excinfo in (e1, e2, e3):
        assert excinfo.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED


START_REFUSALS: list[tuple[str, dict[str, Any], int, str]] = [
    (
        "kvm-1",
        {"extra": "<numatune><memory mode='strict' nodeset='1'/></numatune>"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "NUMA node 1 is unavailable",
    ),
    (
        "kvm-1",
        {"arch": "riscv64", "domain_type": "qemu", "machine": "virt", "firmware": "efi"},
        libvirt.VIR_ERR_OPERATION_FAILED,
        "Unable to find any firmware to satisfy 'efi'",
    ),
    (
        "kvm-1",
        {"firmware": "efi", "extra": "<features><acpi/></features>"},
        libvirt.VIR_ERR_OPERATION_FAILED,
        "Unable to find any firmware to satisfy 'efi'",
    ),
    (
        "kvm-1",
        {
            "arch": "aarch64",
            "domain_type": "qemu",
            "machine": "virt",
            "cpu": "<cpu mode='host-passthrough'/>",
        },
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "CPU mode 'host-passthrough' for aarch64 qemu domain on x86_64 host is not supported",
    ),
    (
        "kvm-1",
        {
            "arch": "aarch64",
            "domain_type": "qemu",
            "machine": "virt",
            "cpu": "<cpu mode='host-model'/>",
        },
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "CPU mode 'host-model' for aarch64 qemu domain",
    ),
    (
        "kvm-1",
        {"domain_type": "qemu", "cpu": "<cpu mode='host-passthrough'/>"},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "CPU mode 'host-passthrough' for x86_64 qemu domain",
    ),
    (
        "kvm-1",
        {
            "arch": "riscv64",
            "domain_type": "qemu",
            "machine": "virt",
            "cpu": "<cpu mode='custom'><model>rv64</model></cpu>",
        },
        libvirt.VIR_ERR_NO_SUPPORT,
        "'riscv64' architecture is not supported by CPU driver",
    ),
    (
        "kvm-1",
        {
            "arch": "mipsel",
            "domain_type": "qemu",
            "machine": "malta",
            "cpu": "<cpu mode='custom'><model>24Kf</model></cpu>",
        },
        libvirt.VIR_ERR_NO_SUPPORT,
        "'mipsel' architecture is not supported by CPU driver",
    ),
    (
        "kvm-1",
        {"memory_mib": 200 * 1024},
        libvirt.VIR_ERR_INTERNAL_ERROR,
        "cannot set up guest memory",
    ),
    (
        "old-1",
        {"vcpus": 17},
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        "Number of vCPUs (17) exceeds the host's 16 CPUs",
    ),
    (
        "kvm-1",
        {"cpu": "<cpu mode='host-passthrough'><maxphysaddr mode='emulate' bits='48'/></cpu>"},
        libvirt.VIR_ERR_INTERNAL_ERROR,
        "phys-bits=48 exceeds the host's 46",
    ),
    (
        "kvm-1",
        {"extra": "<cputune><vcpupin vcpu='0' cpuset='40'/></cputune>"},
        libvirt.VIR_ERR_SYSTEM_ERROR,
        "host CPU 40 does not exist",
    ),
    (
        "vgpu-1",
        {"devices": mdev_hostdev(UUID)},
        libvirt.VIR_ERR_SYSTEM_ERROR,
        f"failed to access '/sys/bus/mdev/devices/{UUID}'",
    ),
    (
        "slice-1",
        {"devices": pci_hostdev("0x99")},
        libvirt.VIR_ERR_SYSTEM_ERROR,
        "Device 0000:99:00.0 not found",
    ),
]


@pytest.mark.parametrize(
    ("host", "kwargs", "code", "message"), START_REFUSALS, ids=[r[3] for r in START_REFUSALS]
)
def test_start_refusals(
    host: str,
    kwargs: dict[str, Any],
    code: int,
    message: str,
    connect: Callable[[str], SimConnection],
) -> None:
    conn = connect(host)
    dom = conn.defineXML(domain_xml(**kwargs))
    assert_refused(dom.create, code, message)
    assert dom.isActive() == 0


START_ALLOWED: list[tuple[str, dict[str, Any]]] = [
    ("vgpu-1", {"extra": "<numatune><memory mode='strict' nodeset='1'/></numatune>"}),
    ("kvm-1", {"arch": "aarch64", "domain_type": "qemu", "machine": "virt", "firmware": "efi"}),
    ("kvm-1", {"domain_type": "qemu", "cpu": "<cpu mode='host-model'/>"}),  # native TCG
    (
        "kvm-1",
        {
            "arch": "aarch64",
            "domain_type": "qemu",
            "machine": "virt",
            "cpu": "<cpu mode='maximum'/>",
        },
    ),
    ("kvm-1", {"arch": "s390x", "domain_type": "qemu", "machine": "s390-ccw-virtio"}),
    ("kvm-1", {"arch": "ppc64le", "domain_type": "qemu", "machine": None}),  # default pseries
    ("kvm-1", {"arch": "riscv64", "domain_type": "qemu", "machine": "virt"}),
    ("kvm-1", {"arch": "i686", "machine": "pc"}),  # i686 runs under KVM on x86_64
    (
        "kvm-1",
        {
            "cpu": "<cpu mode='custom'><model>qemu64</model>"
            "<maxphysaddr mode='emulate' bits='46'/></cpu>"
        },
    ),
    (
        "passthrough-1",
        {"cpu": "<cpu mode='host-passthrough'><maxphysaddr mode='passthrough'/></cpu>"},
    ),
    ("arm-1", {"arch": "aarch64", "machine": "virt", "cpu": "<cpu mode='host-passthrough'/>"}),
    ("arm-1", {"arch": "x86_64", "domain_type": "qemu", "machine": "q35", "cpu": CUSTOM_CPU}),
]


@pytest.mark.parametrize(("host", "kwargs"), START_ALLOWED)
def test_valid_guests_start(
    host: str, kwargs: dict[str, Any], connect: Callable[[str], SimConnection]
) -> None:
    dom = connect(host).defineXML(domain_xml(**kwargs))
    dom.create()
    assert dom.isActive() == 1


def test_memory_counts_running_domains(connect: Callable[[str], SimConnection]) -> None:
    conn = connect("old-1")  # 64 GiB
    conn.defineXML(domain_xml("a", memory_mib=40 * 1024)).create()
    second = conn.defineXML(domain_xml("b", memory_mib=30 * 1024))
    with pytest.raises(libvirt.libvirtError) as excinfo:
        second.create()
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR
    conn.lookupByName("a").destroy()
    second.create()


def test_lifecycle_events(kvm1: SimConnection) -> None:
    events = record_events(kvm1)
    dom = kvm1.defineXML(domain_xml("a"))
    dom.create()
    dom.destroy()
    dom.create()
    dom.shutdown()
    dom.undefine()
    assert wait_for_events()
    assert events == [
        ("a", libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED),
        ("a", libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED),
        ("a", libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED),
        ("a", libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, libvirt.VIR_DOMAIN_EVENT_SHUTDOWN_HOST),
        ("a", libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
        ("a", libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED),
        ("a", libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED),
        ("a", libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, libvirt.VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED),
        ("a", libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN),
        ("a", libvirt.VIR_DOMAIN_EVENT_UNDEFINED, libvirt.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED),
    ]


def test_events_filter_by_domain_and_stop_after_deregister_or_close(
    connect: Callable[[str], SimConnection],
) -> None:
    conn, other = connect("kvm-1"), connect("kvm-1")
    a = conn.defineXML(domain_xml("a"))
    conn.defineXML(domain_xml("b"))
    seen: list[tuple[str, int, object]] = []
    callback_id = conn.domainEventRegisterAny(
        a,
        libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        lambda c, d, e, _detail, opaque: seen.append((d.name(), e, opaque)),
        "tag",
    )
    events_other = record_events(other)
    conn.lookupByName("b").create()
    a.create()
    assert wait_for_events()
    assert seen == [
        ("a", libvirt.VIR_DOMAIN_EVENT_RESUMED, "tag"),
        ("a", libvirt.VIR_DOMAIN_EVENT_STARTED, "tag"),
    ]
    assert [name for name, _, _ in events_other] == ["b", "b", "a", "a"]
    conn.domainEventDeregisterAny(callback_id)
    other.close()
    a.destroy()
    assert wait_for_events()
    assert len(seen) == 2 and len(events_other) == 4
    with pytest.raises(libvirt.libvirtError) as excinfo:
        conn.domainEventDeregisterAny(callback_id)
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    with pytest.raises(libvirt.libvirtError) as excinfo:
        other.getCapabilities()
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_INVALID_CONN


def test_callback_may_call_back_into_the_connection(kvm1: SimConnection) -> None:
    states: list[list[int]] = []
    kvm1.domainEventRegisterAny(
        None,
        libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        lambda c, d, e, detail, o: states.append(c.lookupByName(d.name()).state()),
        None,
    )
    kvm1.defineXML(domain_xml("a")).create()
    assert wait_for_events()
    assert states[-1] == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED]


@pytest.mark.parametrize(
    ("on_crash", "state", "extra_events"),
    [
        (
            "destroy",
            [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED],
            [(libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED)],
        ),
        ("preserve", [libvirt.VIR_DOMAIN_CRASHED, libvirt.VIR_DOMAIN_CRASHED_PANICKED], []),
        (
            "restart",
            [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED],
            [(libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED)],
        ),
    ],
)
def test_injected_crash_follows_on_crash(
    on_crash: str,
    state: list[int],
    extra_events: list[tuple[int, int]],
    fleet: Any,
    kvm1: SimConnection,
) -> None:
    dom = kvm1.defineXML(domain_xml("a", extra=f"<on_crash>{on_crash}</on_crash>"))
    dom.create()
    events = record_events(kvm1)
    hypervisor_for(fleet, "kvm-1").crash("a")
    assert dom.state() == state
    crashed = (libvirt.VIR_DOMAIN_EVENT_CRASHED, libvirt.VIR_DOMAIN_EVENT_CRASHED_PANICKED)
    assert wait_for_events()
    assert [(e, d) for _, e, d in events] == [crashed, *extra_events]


def test_crash_of_a_stopped_or_unknown_domain_is_refused(fleet: Any, kvm1: SimConnection) -> None:
    kvm1.defineXML(domain_xml("a"))
    hypervisor = hypervisor_for(fleet, "kvm-1")
    with pytest.raises(libvirt.libvirtError) as excinfo:
        hypervisor.crash("a")
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    with pytest.raises(libvirt.libvirtError) as excinfo:
        hypervisor.crash("zz")
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


def test_concurrent_defines_from_many_threads(kvm1: SimConnection) -> None:
    def worker(index: int) -> None:
        for j in range(20):
            dom = kvm1.defineXML(domain_xml(f"d-{index}-{j}", memory_mib=64))
            dom.create()
            dom.destroy()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kvm1.listAllDomains(0)) == 80
    assert len({d.UUIDString() for d in kvm1.listAllDomains(0)}) == 80


def test_events_arrive_on_another_thread_and_callback_errors_are_contained(
    kvm1: SimConnection,
) -> None:
    caller = threading.current_thread()
    threads: list[threading.Thread] = []
    lock = threading.Lock()

    def failing(*_: Any) -> None:
        raise RuntimeError("listener bug")

    def needs_the_callers_lock(*_: Any) -> None:
        with lock:  # would deadlock if delivered on the calling thread
            threads.append(threading.current_thread())

    kvm1.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, failing, None)
    kvm1.domainEventRegisterAny(
        None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, needs_the_callers_lock, None
    )
    with lock:
        kvm1.defineXML(domain_xml("a")).create()
    assert wait_for_events()
    assert len(threads) == 3 and all(t is not caller for t in threads)  # defined, resumed, started


def test_file_console_needs_an_existing_directory(kvm1: SimConnection, tmp_path: Path) -> None:
    """libvirt opens file consoles at start: a missing directory fails there, not at define."""
    missing = tmp_path / "gone" / "console.log"
    serial = f"<serial type='file'><source path='{missing}'/><target port='0'/></serial>"
    dom = kvm1.defineXML(domain_xml("a", devices=serial))
    with pytest.raises(libvirt.libvirtError) as excinfo:
        dom.create()
    assert error_code(excinfo) == libvirt.VIR_ERR_SYSTEM_ERROR
    assert str(excinfo.value) == f"Unable to open file: {missing}: No such file or directory"
    assert dom.isActive() == 0
    missing.parent.mkdir()
    dom.create()
    assert dom.isActive() == 1
