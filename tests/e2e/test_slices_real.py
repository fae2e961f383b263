"""A slice on real libvirt: the template pins the guest to host CPU 1, a kernel image
boots in it (TCG), and the live domain XML is the rendered template.

Needs libvirtd at qemu:///system, two host CPUs and the guest kernel from
scripts/guest-images.sh.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from lxml import etree

if TYPE_CHECKING:
    from conftest import Cloud, StartCloud

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

IMAGES = pathlib.Path(os.environ.get("VIRTFLEET_IMAGES", "/var/lib/virtfleet/guest-images"))
RESOURCE_CLASS = "CUSTOM_SLICE_CPU1"
TEMPLATE = """\
<domain type='qemu'>
  <name>{{ name }}</name>
  <uuid>{{ instance_uuid }}</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu placement='static' cpuset='1'>1</vcpu>
  <cputune>
    <vcpupin vcpu='0' cpuset='1'/>
    <emulatorpin cpuset='1'/>
  </cputune>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{{ kernel_path }}</kernel>
    <initrd>{{ ramdisk_path }}</initrd>
    <cmdline>{{ cmdline }} slice={{ slice_name }}</cmdline>
  </os>
  <cpu mode='custom' match='exact' check='none'><model fallback='allow'>qemu64</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'>
      <source path='{{ console_log_path }}'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def virsh(*args: str) -> str:
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, check=False
    ).stdout.strip()


def wait_for(predicate: Any, timeout: float = 120, step: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@pytest.fixture(scope="module")
def slice_cloud(
    tmp_path_factory: pytest.TempPathFactory, cloud_starter_module: StartCloud
) -> Iterator[Cloud]:
    kernel, initrd = IMAGES / "vmlinuz-x86_64", IMAGES / "initrd-x86_64.gz"
    if not (kernel.exists() and initrd.exists()):
        pytest.fail(f"guest kernel missing in {IMAGES}: run scripts/guest-images.sh x86_64")
    if (os.cpu_count() or 1) < 2:
        pytest.fail("the slice pins the guest to host CPU 1: the host needs two CPUs")
    tmp = tmp_path_factory.mktemp("slices-real")
    (tmp / "cpu1.xml.j2").write_text(TEMPLATE)
    entry = {"name": "cpu1", "resource_class": RESOURCE_CLASS, "template_file": "cpu1.xml.j2"}
    conf = tmp / "virtfleet.conf"
    conf.write_text(f"[libvirt]\nvirt_type = qemu\nslice_spec = {json.dumps(entry)}\n")
    cloud = cloud_starter_module(tmp, None, "--libvirt", "qemu:///system", "--config", str(conf))
    for disk_format, path, name in (("aki", kernel, "kernel"), ("ari", initrd, "initrd")):
        cloud.openstack(
            "image", "create", "--disk-format", disk_format, "--container-format",
            disk_format, "--file", str(path), f"slice-{name}",
        )  # fmt: skip
    kernel_id = cloud.openstack_json("image", "show", "slice-kernel")["id"]
    ramdisk_id = cloud.openstack_json("image", "show", "slice-initrd")["id"]
    cloud.openstack(
        "image", "create", "--disk-format", "ami", "--container-format", "ami",
        "--property", f"kernel_id={kernel_id}", "--property", f"ramdisk_id={ramdisk_id}",
        "--property", "os_command_line=console=ttyS0 panic=-1", "slice-debian",
    )  # fmt: skip
    cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "0", "slice.cpu1")
    cloud.openstack(
        "flavor", "set", "slice.cpu1",
        "--property", f"resources:{RESOURCE_CLASS}=1",
        "--property", "resources:VCPU=0",
        "--property", "resources:MEMORY_MB=0",
        "--property", "resources:DISK_GB=0",
    )  # fmt: skip
    yield cloud
    cloud.stop()


def test_a_slice_pinned_to_cpu_1_boots_and_runs_its_template(slice_cloud: Cloud) -> None:
    cloud = slice_cloud
    server = cloud.openstack_json(
        "server", "create", "--flavor", "slice.cpu1", "--image", "slice-debian", "--wait",
        "<slice>&'1",
    )  # fmt: skip
    assert server["status"] == "ACTIVE", server
    uuid = server["id"]
    live = etree.fromstring(virsh("dumpxml", uuid).encode())
    assert live.findtext("name") == f"vf-{uuid}"
    assert live.findtext("uuid") == uuid
    assert live.get("type") == "qemu"
    assert live.find("vcpu").get("cpuset") == "1"  # type: ignore[union-attr]
    assert live.find("cputune/vcpupin").attrib == {"vcpu": "0", "cpuset": "1"}  # type: ignore[union-attr]
    assert live.find("cputune/emulatorpin").get("cpuset") == "1"  # type: ignore[union-attr]
    assert live.findtext("memory") == str(256 * 1024)
    kernel_id = cloud.openstack_json("image", "show", "slice-kernel")["id"]
    assert kernel_id in live.findtext("os/kernel", "")
    assert live.findtext("os/cmdline") == "console=ttyS0 panic=-1 slice=cpu1"
    vf = {"vf": "http://virtfleet.dev/xmlns/instance/1.0"}
    assert live.findtext("metadata/vf:instance/vf:name", namespaces=vf) == "<slice>&'1"
    # the running vCPU really is on host CPU 1
    assert virsh("vcpupin", uuid).splitlines()[-1].split() == ["0", "1"]

    def console() -> str:
        return cloud.openstack("console", "log", "show", server["name"]).stdout

    assert wait_for(lambda: "Linux version" in console()), console()

    # The one slice is in use: a second guest is refused with a reason.
    refused = cloud.openstack(
        "server", "create", "--flavor", "slice.cpu1", "--image", "slice-debian", "--wait",
        "second", check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert cloud.openstack_json("server", "show", "second")["status"] == "ERROR"
    assert "No valid host" in cloud.openstack_json("server", "show", "second")["fault"]["message"]
    cloud.openstack("server", "delete", "--wait", "second")

    cloud.openstack("server", "delete", "--wait", uuid)
    assert uuid not in virsh("list", "--all", "--uuid")
