"""maxphysaddr on the real host: an x86_64 TCG guest booted with
``hw:maxphysaddr_mode=emulate`` / ``hw:maxphysaddr_bits=42`` runs with QEMU's
``phys-bits=42``, and asking for more bits than the host has is refused before libvirt
sees it. Driven by the openstack CLI against ``virtfleet up --libvirt qemu:///system``
with ``[libvirt] virt_type = qemu``.

Needs libvirtd at qemu:///system and the guest kernel from scripts/guest-images.sh.
"""

from __future__ import annotations

import json
import os
import pathlib
import urllib.request
from typing import Any

import pytest
from lxml import etree

from support.cloud import Cloud, virsh
from virtfleet.virt.libvirt import config

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]


def host_bits() -> int:
    """The host's physical address bits as libvirt reports them."""
    caps = etree.fromstring(virsh("capabilities").encode())
    found = caps.find("host/cpu/maxphysaddr")
    if found is None or found.get("bits") is None:
        pytest.fail("this libvirt reports no <maxphysaddr> in <host><cpu>")
    return int(str(found.get("bits")))


def qemu_command_line(uuid: str) -> list[str]:
    """The running QEMU's argv, found by the domain's uuid on its command line."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if args and "qemu-system" in args[0] and uuid in args:
            return args
    raise AssertionError(f"no QEMU process with uuid {uuid}")


@pytest.fixture(scope="module")
def cloud(libvirt_cloud: Cloud) -> Cloud:
    libvirt_cloud.kernel_image("x86_64", "console=ttyS0 panic=-1", "mpa-debian")
    return libvirt_cloud


def api_get(cloud: Cloud, path: str) -> Any:
    request = urllib.request.Request(cloud.endpoint + path, headers={"X-Auth-Token": cloud.token()})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def host_name_and_provider(cloud: Cloud) -> tuple[str, str]:
    host = cloud.openstack_json("hypervisor", "list")[0]["Hypervisor Hostname"]
    provider = cloud.openstack_json("resource", "provider", "list", "--name", host)[0]["uuid"]
    return host, provider


def usage(cloud: Cloud, provider: str) -> dict[str, Any]:
    rows = cloud.openstack_json("resource", "provider", "usage", "show", provider)
    return {r["resource_class"]: r["usage"] for r in rows}


def test_the_real_host_reports_its_bits_and_the_emulated_trait(cloud: Cloud) -> None:
    """What this host says: libvirt >= 8.7.0 with QEMU -> EMULATED; a TCG host has no
    host-passthrough guest CPUs -> no PASSTHROUGH; its bits from the capabilities."""
    host, provider = host_name_and_provider(cloud)
    traits = {
        t["name"] for t in cloud.openstack_json("resource", "provider", "trait", "list", provider)
    }
    assert "COMPUTE_ADDRESS_SPACE_EMULATED" in traits
    assert "COMPUTE_ADDRESS_SPACE_PASSTHROUGH" not in traits
    listed = api_get(cloud, "/compute/v2.1/os-hypervisors/detail")["hypervisors"]
    cpu_info = json.loads(next(h for h in listed if h["hypervisor_hostname"] == host)["cpu_info"])
    assert cpu_info["maxphysaddr_bits"] == host_bits()


def test_emulate_42_runs_with_phys_bits_42(cloud: Cloud) -> None:
    cloud.openstack(
        "flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1",
        "--property", "hw:maxphysaddr_mode=emulate", "--property", "hw:maxphysaddr_bits=42",
        "mpa.42",
    )  # fmt: skip
    server = cloud.openstack_json(
        "server", "create", "--flavor", "mpa.42", "--image", "mpa-debian", "--wait", "mpa-42"
    )
    uuid = server["id"]
    try:
        assert server["status"] == "ACTIVE", server
        assert virsh("domstate", uuid) == "running"
        live = config.Domain.parse(virsh("dumpxml", uuid))
        assert live.type == "qemu"
        assert live.cpu is not None
        assert live.cpu.maxphysaddr == config.MaxPhysAddr(mode="emulate", bits=42)
        argv = qemu_command_line(uuid)
        cpu_arg = argv[argv.index("-cpu") + 1]
        assert "phys-bits=42" in cpu_arg.split(","), cpu_arg
        log = pathlib.Path(f"/var/log/libvirt/qemu/{live.name}.log")
        if log.exists():
            assert "phys-bits=42" in log.read_text(errors="replace")
        # The API's admin extension hands out the same live XML.
        api_xml = api_get(cloud, f"/compute/v2.1/servers/{uuid}/os-domain-xml")["domain_xml"]
        api_domain = config.Domain.parse(api_xml)
        assert api_domain.cpu is not None and api_domain.cpu.maxphysaddr == live.cpu.maxphysaddr
    finally:
        cloud.openstack("server", "delete", "--wait", "mpa-42")
    assert uuid not in virsh("list", "--all", "--uuid")


def test_more_bits_than_the_host_has_are_refused_before_libvirt(cloud: Cloud) -> None:
    too_many = host_bits() + 1
    if too_many > 52:
        pytest.skip("the host has 52 bits: nothing can ask for more")
    cloud.openstack(
        "flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1",
        "--property", "hw:maxphysaddr_mode=emulate",
        "--property", f"hw:maxphysaddr_bits={too_many}", "mpa.too-many",
    )  # fmt: skip
    _, provider = host_name_and_provider(cloud)
    cloud.openstack(
        "server", "create", "--flavor", "mpa.too-many", "--image", "mpa-debian", "mpa-too-many",
        check=False,
    )  # fmt: skip
    shown = cloud.openstack_json("server", "show", "mpa-too-many")
    for _ in range(60):
        if shown["status"] != "BUILD":
            break
        shown = cloud.openstack_json("server", "show", "mpa-too-many")
    try:
        assert shown["status"] == "ERROR", shown
        message = str(shown["fault"])
        # The scheduler refused it (no host): libvirt never saw a domain to define.
        assert "No valid host" in message, message
        assert f"have fewer than {too_many} physical address bits" in message, message
        # (other tests may run guests on this libvirtd meanwhile: look for ours only)
        assert shown["id"] not in virsh("list", "--all", "--uuid").split()
        assert usage(cloud, provider)["MEMORY_MB"] == 0
        assert not (cloud.data_dir / "instances" / shown["id"]).exists()
    finally:
        cloud.openstack("server", "delete", "--wait", "mpa-too-many")


def test_libvirt_orders_cpu_children_as_virtfleet_writes_them(tmp_path: pathlib.Path) -> None:
    """Define (never start) a domain whose <cpu> has every child virtfleet writes, in
    scrambled order; libvirt's dumpxml order is the order virtfleet's builder uses."""
    ours = config.Cpu(
        mode="custom",
        match="exact",
        model=config.CpuModel(fallback="forbid", name="qemu64"),
        vendor="AMD",
        topology=config.CpuTopology(sockets=1, dies=1, cores=2, threads=1),
        maxphysaddr=config.MaxPhysAddr(mode="emulate", bits=42),
        features=[config.CpuFeature(policy="require", name="pdpe1gb")],
    )
    our_order = [c.tag for c in etree.fromstring(ours.to_xml())]
    scrambled = "".join(
        etree.tostring(c).decode() for c in reversed(etree.fromstring(ours.to_xml()))
    )
    name = f"virtfleet-order-probe-{os.getpid()}"
    xml = tmp_path / "probe.xml"
    xml.write_text(
        f"<domain type='qemu'><name>{name}</name><memory unit='KiB'>131072</memory>"
        "<vcpu>2</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os>"
        f"<cpu mode='custom' match='exact'>{scrambled}</cpu></domain>"
    )
    assert "defined" in virsh("define", str(xml))
    try:
        dumped = etree.fromstring(virsh("dumpxml", name).encode()).find("cpu")
        assert dumped is not None
        assert [c.tag for c in dumped] == our_order
    finally:
        virsh("undefine", name)
