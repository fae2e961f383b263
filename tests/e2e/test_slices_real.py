"""A slice on real libvirt: the template pins the guest to host CPU 1, a kernel image
boots in it (TCG), and the live domain XML is the rendered template.

Needs libvirtd at qemu:///system, two host CPUs and the guest kernel from
scripts/guest-images.sh.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import pytest
from lxml import etree

from support.cloud import Cloud, virsh, wait_for

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

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


@pytest.fixture(scope="module")
def slice_cloud(
    tmp_path_factory: pytest.TempPathFactory, real_cloud_starter: Callable[..., Cloud]
) -> Iterator[Cloud]:
    if (os.cpu_count() or 1) < 2:
        pytest.fail("the slice pins the guest to host CPU 1: the host needs two CPUs")
    tmp = tmp_path_factory.mktemp("slices-real")
    (tmp / "cpu1.xml.j2").write_text(TEMPLATE)
    entry = {"name": "cpu1", "resource_class": RESOURCE_CLASS, "template_file": "cpu1.xml.j2"}
    cloud = real_cloud_starter(tmp, f"slice_spec = {json.dumps(entry)}\n")
    cloud.kernel_image("x86_64", "console=ttyS0 panic=-1", "slice-debian")
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
    kernel_id = cloud.openstack_json("image", "show", "slice-debian-aki")["id"]
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
