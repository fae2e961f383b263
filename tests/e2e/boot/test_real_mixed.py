"""One control plane, real and simulated hosts: `virtfleet up --fleet FILE --libvirt
qemu:///system`. Both kinds report the same kinds of providers and traits, a server
lands on each, the one on the real host really runs, and `virtfleet server xml` prints
its live domain XML from libvirtd.

Needs libvirtd at qemu:///system with qemu-system-riscv64, and the riscv64 and aarch64
guest kernels from scripts/guest-images.sh.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from support.cloud import SMALL_FLEET, Cloud, process_cloud, virsh, wait_for
from support.clouds import Recipe

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

SIM_HOSTS = ("kvm-a", "kvm-b", "arm-a")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    tmp = tmp_path_factory.mktemp("mixed")
    running = process_cloud(tmp, Recipe(fleet=SMALL_FLEET, libvirt=True, auth="keystone"))
    running.openstack(
        "flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "mixed.tiny"
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def real_host(cloud: Cloud) -> str:
    names = [h["Hypervisor Hostname"] for h in cloud.openstack_json("hypervisor", "list")]
    real = [n for n in names if n not in SIM_HOSTS]
    assert sorted(set(names) - set(real)) == sorted(SIM_HOSTS) and len(real) == 1, names
    return str(real[0])


def provider(cloud: Cloud, host: str) -> dict[str, Any]:
    """A host's root provider: parent, resource classes and traits."""
    (found,) = cloud.openstack_json("resource", "provider", "list", "--name", host)
    uuid = found["uuid"]
    inventory = cloud.openstack_json("resource", "provider", "inventory", "list", uuid)
    traits = cloud.openstack_json("resource", "provider", "trait", "list", uuid)
    return {
        "parent": found["parent_provider_uuid"],
        "classes": sorted(row["resource_class"] for row in inventory),
        "traits": {row["name"] for row in traits},
    }


def test_real_and_simulated_hosts_report_alike(cloud: Cloud, real_host: str) -> None:
    real, sim = provider(cloud, real_host), provider(cloud, "kvm-a")  # both x86_64 hosts
    assert real["parent"] is None and sim["parent"] is None
    assert real["classes"] == sim["classes"] == ["DISK_GB", "MEMORY_MB", "VCPU"]
    # which emulators and firmware are installed differs; every other trait is the same
    varying = ("COMPUTE_ARCH_", "COMPUTE_FIRMWARE_")
    for traits in (real["traits"], sim["traits"]):
        assert {"COMPUTE_NODE", "HW_ARCH_X86_64", "COMPUTE_ARCH_X86_64"} <= traits
        assert any(t.startswith("COMPUTE_FIRMWARE_") for t in traits)
    fixed = [{t for t in p["traits"] if not t.startswith(varying)} for p in (real, sim)]
    assert fixed[0] == fixed[1], fixed[0] ^ fixed[1]
    assert {"COMPUTE_ARCH_RISCV64", "COMPUTE_ARCH_PPC64LE"} <= real["traits"]
    shown = {
        host: cloud.openstack_json("hypervisor", "show", host) for host in (real_host, "kvm-a")
    }
    assert {s["hypervisor_type"] for s in shown.values()} == {"QEMU"}
    assert all(s["state"] == "up" and s["status"] == "enabled" for s in shown.values())


def test_a_server_lands_on_each_kind_and_the_real_one_runs(
    cloud: Cloud, real_host: str, tmp_path: pathlib.Path
) -> None:
    # riscv64: only the real host has that emulator; hw_architecture=aarch64: only the
    # simulated arm-a runs aarch64 natively
    cloud.kernel_image("riscv64", None, "mixed-riscv64", {"hw_emulation_architecture": "riscv64"})
    cloud.kernel_image("aarch64", None, "mixed-arm", {"hw_architecture": "aarch64"})
    create = ("server", "create", "--flavor", "mixed.tiny", "--wait")
    real = cloud.openstack_json(*create, "--image", "mixed-riscv64", "on-real")
    sim = cloud.openstack_json(*create, "--image", "mixed-arm", "on-sim")
    assert (real["status"], sim["status"]) == ("ACTIVE", "ACTIVE")
    assert real["OS-EXT-SRV-ATTR:host"] == real_host
    assert sim["OS-EXT-SRV-ATTR:host"] == "arm-a"
    assert cloud.allocations(real["id"]) and cloud.allocations(sim["id"])

    assert virsh("domstate", real["id"]) == "running"
    assert sim["id"] not in virsh("list", "--all", "--uuid").split()

    # waited for over HTTP (support/cloud.py), then the CLI's own `console log show`
    ready = wait_for(lambda: "VIRTFLEET-GUEST-READY" in cloud.console_log("on-real"), 120)
    console = cloud.openstack("console", "log", "show", "on-real").stdout
    assert ready, console
    assert "Linux version 6." in console and "riscv" in console.lower()

    # `virtfleet server xml` prints the live XML libvirtd has for the guest
    printed = cloud.virtfleet("server", "xml", "on-real")
    assert printed.returncode == 0, printed.stderr
    live = etree.fromstring(printed.stdout.encode())
    assert live.get("id") is not None  # only a running domain's live XML has an id
    assert live.findtext("uuid") == real["id"]
    assert live.find("os/type").get("arch") == "riscv64"  # type: ignore[union-attr]
    assert live.findtext("devices/emulator") == "/usr/bin/qemu-system-riscv64"
    assert live.find("devices/console/alias") is not None  # live-only device aliases
    assert printed.stdout.strip() == virsh("dumpxml", real["id"])

    sim_xml = cloud.virtfleet("server", "xml", "on-sim")
    assert sim_xml.returncode == 0, sim_xml.stderr
    assert etree.fromstring(sim_xml.stdout.encode()).findtext("uuid") == sim["id"]

    for name in ("on-real", "on-sim"):
        cloud.openstack("server", "delete", "--wait", name)
    assert real["id"] not in virsh("list", "--all", "--uuid").split()
    assert cloud.allocations(real["id"]) == [] and cloud.allocations(sim["id"]) == []
