"""A real x86_64 TCG guest with a Debian kernel, driven by the openstack CLI.

Needs libvirtd at qemu:///system and the guest kernel from scripts/guest-images.sh.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Cloud, StartCloud

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

IMAGES = pathlib.Path(os.environ.get("VIRTFLEET_IMAGES", "/var/lib/virtfleet/guest-images"))
CONF = """
[libvirt]
virt_type = qemu
"""


def virsh(*args: str) -> str:
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, check=False
    ).stdout.strip()


def domain_state(uuid: str) -> str:
    return virsh("domstate", uuid)


def wait_for(predicate: Any, timeout: float = 90, step: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@pytest.fixture(scope="module")
def real_cloud(
    tmp_path_factory: pytest.TempPathFactory, cloud_starter_module: StartCloud
) -> Iterator[Cloud]:
    kernel, initrd = IMAGES / "vmlinuz-x86_64", IMAGES / "initrd-x86_64.gz"
    if not (kernel.exists() and initrd.exists()):
        pytest.fail(f"guest kernel missing in {IMAGES}: run scripts/guest-images.sh x86_64")
    tmp = tmp_path_factory.mktemp("real")
    conf = tmp / "virtfleet.conf"
    conf.write_text(CONF)
    cloud = cloud_starter_module(tmp, None, "--libvirt", "qemu:///system", "--config", str(conf))
    cloud.openstack(
        "image",
        "create",
        "--disk-format",
        "aki",
        "--container-format",
        "aki",
        "--file",
        str(kernel),
        "vmlinuz-x86_64",
    )
    cloud.openstack(
        "image",
        "create",
        "--disk-format",
        "ari",
        "--container-format",
        "ari",
        "--file",
        str(initrd),
        "initrd-x86_64",
    )
    kernel_id = cloud.openstack_json("image", "show", "vmlinuz-x86_64")["id"]
    ramdisk_id = cloud.openstack_json("image", "show", "initrd-x86_64")["id"]
    cloud.openstack(
        "image",
        "create",
        "--disk-format",
        "ami",
        "--container-format",
        "ami",
        "--property",
        f"kernel_id={kernel_id}",
        "--property",
        f"ramdisk_id={ramdisk_id}",
        "--property",
        "os_command_line=console=ttyS0 panic=-1",
        "debian-x86_64",
    )
    cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "real.tiny")
    yield cloud
    cloud.stop()


def test_real_guest_lifecycle(real_cloud: Cloud) -> None:
    cloud = real_cloud
    server = cloud.openstack_json(
        "server", "create", "--flavor", "real.tiny", "--image", "debian-x86_64", "--wait", "real-1"
    )
    assert server["status"] == "ACTIVE", server
    uuid = server["id"]
    assert domain_state(uuid) == "running"
    dumped = virsh("dumpxml", uuid)
    assert "type='qemu'" in dumped and "arch='x86_64'" in dumped

    def console() -> str:
        return cloud.openstack("console", "log", "show", "real-1").stdout

    assert wait_for(lambda: "VIRTFLEET-GUEST-READY" in console()), console()
    assert "Linux version 6." in console()

    cloud.openstack("server", "stop", "real-1")
    assert wait_for(lambda: cloud.openstack_json("server", "show", "real-1")["status"] == "SHUTOFF")
    assert domain_state(uuid) == "shut off"
    cloud.openstack("server", "start", "real-1")
    assert wait_for(lambda: cloud.openstack_json("server", "show", "real-1")["status"] == "ACTIVE")
    assert domain_state(uuid) == "running"
    cloud.openstack("server", "reboot", "--hard", "--wait", "real-1")
    assert cloud.openstack_json("server", "show", "real-1")["status"] == "ACTIVE"
    assert wait_for(lambda: "VIRTFLEET-GUEST-READY" in console())

    cloud.openstack("server", "delete", "--wait", "real-1")
    assert uuid not in virsh("list", "--all", "--uuid")


def test_guest_that_dies_is_seen_as_shutoff(real_cloud: Cloud) -> None:
    cloud = real_cloud
    server = cloud.openstack_json(
        "server",
        "create",
        "--flavor",
        "real.tiny",
        "--image",
        "debian-x86_64",
        "--wait",
        "real-dies",
    )
    virsh("destroy", server["id"])  # behind virtfleet's back
    assert wait_for(
        lambda: cloud.openstack_json("server", "show", "real-dies")["status"] == "SHUTOFF", 30
    )
    cloud.openstack("server", "delete", "--wait", "real-dies")
    assert server["id"] not in virsh("list", "--all", "--uuid")


def test_bad_kernel_ends_in_error_and_leaves_nothing(
    real_cloud: Cloud, tmp_path: pathlib.Path
) -> None:
    cloud = real_cloud
    junk = tmp_path / "not-a-kernel"
    junk.write_bytes(b"this is not a kernel\n" * 100)
    cloud.openstack(
        "image",
        "create",
        "--disk-format",
        "aki",
        "--container-format",
        "aki",
        "--file",
        str(junk),
        "junk-kernel",
    )
    junk_id = cloud.openstack_json("image", "show", "junk-kernel")["id"]
    cloud.openstack(
        "image",
        "create",
        "--disk-format",
        "ami",
        "--container-format",
        "ami",
        "--property",
        f"kernel_id={junk_id}",
        "bad-boot",
    )
    cloud.openstack(
        "server", "create", "--flavor", "real.tiny", "--image", "bad-boot", "bad-1", check=False
    )
    assert wait_for(lambda: cloud.openstack_json("server", "show", "bad-1")["status"] == "ERROR")
    shown = cloud.openstack_json("server", "show", "bad-1")
    assert "kernel" in str(shown["fault"]).lower(), shown["fault"]
    assert shown["id"] not in virsh("list", "--all", "--uuid")
    host = cloud.openstack_json("hypervisor", "list")[0]["Hypervisor Hostname"]
    rp = cloud.openstack_json("resource", "provider", "list", "--name", host)[0]["uuid"]
    usage = {
        r["resource_class"]: r["usage"]
        for r in cloud.openstack_json("resource", "provider", "usage", "show", rp)
    }
    assert usage["VCPU"] == 0 and usage["MEMORY_MB"] == 0
    instance_dir = cloud.data_dir / "instances" / shown["id"]
    assert not instance_dir.exists()
    cloud.openstack("server", "delete", "--wait", "bad-1")
