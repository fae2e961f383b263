"""Real emulated guests (QEMU TCG) of every supported architecture, driven by the
openstack CLI against `virtfleet up --libvirt qemu:///system`.

Each guest image sets only ``hw_emulation_architecture`` and its kernel/ramdisk (no
command line: virtfleet picks the arch's console). Needs libvirtd at qemu:///system and
the guest kernels from ``scripts/guest-images.sh x86_64 aarch64 ppc64le s390x riscv64
mipsel``. Guests boot one at a time (2 cores) and are deleted after their checks.
"""

from __future__ import annotations

import pathlib

import pytest
from lxml import etree

from support.cloud import Cloud, virsh, wait_for

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

#: guest arch -> (emulator, default machine, a line of its kernel's boot messages, the
#: guest's ``uname -m`` that the initramfs prints: a mipsel kernel calls itself "mips")
ARCHES: dict[str, tuple[str, str, str, str]] = {
    "aarch64": ("qemu-system-aarch64", "virt", "Booting Linux on physical CPU", "aarch64"),
    "ppc64le": ("qemu-system-ppc64le", "pseries", "Linux version", "ppc64le"),
    "s390x": ("qemu-system-s390x", "s390-ccw-virtio", "Linux version", "s390x"),
    "riscv64": ("qemu-system-riscv64", "virt", "Linux version", "riscv64"),
    "mipsel": ("qemu-system-mipsel", "malta", "Linux version", "mips"),
    "x86_64": ("qemu-system-x86_64", "q35", "Linux version", "x86_64"),
}
READY = "VIRTFLEET-GUEST-READY arch={arch}"
BOOT_TIMEOUT = 120  # seconds from ACTIVE to READY on the console (ppc64le: ~10 s alone)


def machine_aliases(machine: str) -> set[str]:
    """``machine`` and the canonical names libvirt resolves it to (``virt`` -> ``virt-7.2``)."""
    caps = etree.fromstring(virsh("capabilities").encode())
    names = {machine}
    for element in caps.iterfind("guest/arch/machine"):
        if element.text == machine and element.get("canonical"):
            names.add(str(element.get("canonical")))
    return names


_IMAGES_MADE: dict[tuple[int, str], str] = {}


def guest_image(cloud: Cloud, arch: str) -> str:
    """The AMI-style image of ``arch`` (made once per cloud): only
    hw_emulation_architecture and the kernel."""
    key = (id(cloud), arch)
    if key not in _IMAGES_MADE:
        _IMAGES_MADE[key] = _make_guest_image(cloud, arch)
    return _IMAGES_MADE[key]


def _make_guest_image(cloud: Cloud, arch: str) -> str:
    props = {"hw_emulation_architecture": arch}
    return cloud.kernel_image(arch, name=f"emulated-{arch}", properties=props)


@pytest.fixture(scope="module")
def cloud(libvirt_cloud: Cloud) -> Cloud:
    libvirt_cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1",
                         "emu.tiny")  # fmt: skip
    return libvirt_cloud


def console_log(cloud: Cloud, server: str) -> str:
    return cloud.openstack("console", "log", "show", server).stdout


def status(cloud: Cloud, server: str) -> str:
    return str(cloud.openstack_json("server", "show", server)["status"])


def boot(cloud: Cloud, arch: str, name: str) -> str:
    """Boot the ``arch`` image; returns the server uuid once it is ACTIVE."""
    image = guest_image(cloud, arch)
    server = cloud.openstack_json(
        "server", "create", "--flavor", "emu.tiny", "--image", image, "--wait", name
    )
    assert server["status"] == "ACTIVE", server
    return str(server["id"])


def console_file(uuid: str) -> pathlib.Path:
    """The file the guest's console is logged to (from the live XML): the pty's
    ``<log file>``, or the source of a file-backed console. (Reading the pty itself
    would block.)"""
    root = etree.fromstring(virsh("dumpxml", uuid).encode())
    logged = str(root.xpath("string(devices/console/log/@file)"))
    return pathlib.Path(logged or str(root.xpath("string(devices/console/source/@path)")))


def assert_booted(cloud: Cloud, arch: str, name: str, uuid: str, boots: int = 1) -> None:
    """The guest's console log has the initramfs' READY line ``boots`` times (it grows
    across boots), and ``openstack console log show`` (its tail) shows the guest's own
    kernel banner and READY line."""
    _, _, banner, uname = ARCHES[arch]
    ready = READY.format(arch=uname)
    log = console_file(uuid)

    def ready_count() -> int:  # polled on the file: cheaper than the CLI on 2 cores
        return log.read_text(errors="replace").count(ready) if log.exists() else 0

    assert wait_for(lambda: ready_count() >= boots, BOOT_TIMEOUT, 0.5), log.read_text()
    shown = console_log(cloud, name)
    assert ready in shown and banner in shown, shown[-2000:]


def assert_domain(uuid: str, arch: str) -> None:
    """libvirt runs it under TCG (type qemu) with the arch's emulator and machine."""
    emulator, machine, _, _ = ARCHES[arch]
    root = etree.fromstring(virsh("dumpxml", uuid).encode())
    os_type = root.find("os/type")
    assert os_type is not None
    assert root.get("type") == "qemu"
    assert os_type.get("arch") == arch
    assert os_type.get("machine") in machine_aliases(machine)
    assert root.findtext("devices/emulator") == f"/usr/bin/{emulator}"


def delete(cloud: Cloud, name: str, uuid: str) -> None:
    """Delete the server; neither the domain nor its instance directory is left."""
    defined = uuid in virsh("list", "--all", "--uuid")
    instance_dir = console_file(uuid).parent if defined else None
    cloud.openstack("server", "delete", "--wait", name)
    assert uuid not in virsh("list", "--all", "--uuid")
    assert instance_dir is None or not instance_dir.exists()


@pytest.mark.parametrize("arch", ["aarch64", "ppc64le", "s390x", "riscv64", "mipsel", "x86_64"])
def test_emulated_guest_boots_its_own_kernel(cloud: Cloud, arch: str) -> None:
    name = f"emu-{arch}"
    uuid = boot(cloud, arch, name)
    try:
        assert_domain(uuid, arch)
        assert_booted(cloud, arch, name, uuid)
    finally:
        delete(cloud, name, uuid)


def test_emulated_guest_lifecycle(cloud: Cloud) -> None:
    cloud, name = cloud, "emu-life"
    uuid = boot(cloud, "aarch64", name)
    try:
        assert_booted(cloud, "aarch64", name, uuid)
        cloud.openstack("server", "stop", name)
        assert wait_for(lambda: status(cloud, name) == "SHUTOFF")
        assert virsh("domstate", uuid) == "shut off"
        cloud.openstack("server", "start", name)
        assert wait_for(lambda: status(cloud, name) == "ACTIVE")
        assert virsh("domstate", uuid) == "running"
        assert_domain(uuid, "aarch64")
        assert_booted(cloud, "aarch64", name, uuid, boots=2)
        cloud.openstack("server", "reboot", "--hard", "--wait", name)
        assert status(cloud, name) == "ACTIVE"
        assert virsh("domstate", uuid) == "running"
        assert_booted(cloud, "aarch64", name, uuid, boots=3)
    finally:
        delete(cloud, name, uuid)
