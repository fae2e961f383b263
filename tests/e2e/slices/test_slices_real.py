"""A slice on real libvirt: the template pins the guest to host CPU 1, a kernel image
boots in it (TCG), and the live domain XML is the rendered template.

Needs libvirtd at qemu:///system, two host CPUs and the guest kernel from
scripts/guest-images.sh.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner
from lxml import etree

from support.cloud import Cloud, virsh, wait_for
from virtfleet.cli.slices import slices
from virtfleet.virt.libvirt.slices.holdings import format_cpuset

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


def libvirt_form(expected: etree._Element, live: etree._Element) -> etree._Element:
    """The template as libvirt writes it back: memory in KiB, the machine alias
    expanded (q35 -> pc-q35-<version>), and a started guest's CPU with check='full' and
    fallback='forbid' (libvirt settles both when QEMU starts)."""
    for memory in expected.iter("memory", "currentMemory"):
        if memory.get("unit") == "MiB":
            memory.set("unit", "KiB")
            memory.text = str(int(memory.text or "0") * 1024)
    os_type, live_type = expected.find("os/type"), live.find("os/type")
    if os_type is not None and live_type is not None and os_type.get("machine") == "q35":
        assert live_type.get("machine", "").startswith("pc-q35-")
        os_type.set("machine", live_type.get("machine", ""))
    cpu = expected.find("cpu")
    if cpu is not None:
        cpu.attrib.pop("check", None)
        for model in cpu.iter("model"):
            model.attrib.pop("fallback", None)
    return expected


def not_in(expected: etree._Element, live: etree._Element, path: str = "") -> list[str]:
    """Parts of ``expected`` (elements, attributes, text) that ``live`` lacks: each
    expected child must match a live child of its tag, in order."""
    missing = []
    here = f"{path}/{expected.tag}"
    for key, value in expected.attrib.items():
        if live.get(key) != value:
            missing.append(f"{here}@{key}={value!r} (live {live.get(key)!r})")
    if (expected.text or "").strip() and (expected.text or "").strip() != (live.text or "").strip():
        missing.append(f"{here} text {expected.text!r} (live {live.text!r})")
    candidates = list(live)
    for child in expected:
        match = next(
            (c for c in candidates if c.tag == child.tag and not not_in(child, c, here)), None
        )
        if match is None:
            missing.append(f"{here}/{child.tag}")
            continue
        candidates = candidates[candidates.index(match) + 1 :]
    return missing


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
    # Everything the template says is in the live XML (libvirt only adds defaults).
    values = {
        "name": f"vf-{uuid}",
        "instance_uuid": uuid,
        "kernel_path": live.findtext("os/kernel", ""),
        "ramdisk_path": live.findtext("os/initrd", ""),
        "cmdline": "console=ttyS0 panic=-1",
        "slice_name": "cpu1",
        "console_log_path": live.find("devices/serial/source").get("path", ""),  # type: ignore[union-attr]
    }
    rendered = TEMPLATE
    for key, value in values.items():
        rendered = rendered.replace("{{ " + key + " }}", value)
    assert "{{" not in rendered
    missing = not_in(libvirt_form(etree.fromstring(rendered.encode()), live), live)
    assert not missing, (
        f"template parts missing from the live XML: {missing}\n{etree.tostring(live).decode()}"
    )
    vf = {"vf": "http://virtfleet.dev/xmlns/instance/1.0"}
    assert live.findtext("metadata/vf:instance/vf:name", namespaces=vf) == "<slice>&'1"
    # the running vCPU really is on host CPU 1
    assert virsh("vcpupin", uuid).splitlines()[-1].split() == ["0", "1"]

    def console() -> str:
        return cloud.openstack("console", "log", "show", server["name"]).stdout

    # waited for over HTTP (support/cloud.py), then the CLI's own `console log show`
    assert wait_for(lambda: "Linux version" in cloud.console_log(server["id"])), console()
    assert "Linux version" in console()

    # The one slice is in use: a second guest is refused with a reason.
    refused = cloud.openstack(
        "server", "create", "--flavor", "slice.cpu1", "--image", "slice-debian", "--wait",
        "second", check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert cloud.openstack_json("server", "show", "second")["status"] == "ERROR"
    fault = cloud.openstack_json("server", "show", "second")["fault"]["message"]
    assert fault.startswith(f"No valid host for 1 {RESOURCE_CLASS}: "), fault
    assert f"1 of 1 hosts lack capacity ({RESOURCE_CLASS})" in fault, fault
    cloud.openstack("server", "delete", "--wait", "second")

    cloud.openstack("server", "delete", "--wait", uuid)
    assert uuid not in virsh("list", "--all", "--uuid")


@pytest.mark.parametrize(
    ("pins", "device", "message"),
    [
        ("1", None, None),
        (
            str(os.cpu_count()),
            None,
            "pins host CPUs {n} the host does not have (host CPUs 0-{last})",
        ),
        ("1", "0000:ee:1f.7", "passes through PCI devices 0000:ee:1f.7 the host does not have"),
        ("1", "cell 7", "names NUMA cells 7 the host does not have (host cells {cells})"),
    ],
    ids=["good", "cpu", "pci", "numa"],
)
def test_slices_validate_checks_the_real_host(
    tmp_path: pathlib.Path, pins: str, device: str | None, message: str | None
) -> None:
    """``virtfleet slices validate --config`` against qemu:///system (the default
    connection_uri): host CPUs from its capabilities, PCI devices from its node devices."""
    template = TEMPLATE.replace("cpuset='1'", f"cpuset='{pins}'")
    if device is not None and device.startswith("cell "):
        numatune = f"<numatune><memory nodeset='{device.split()[1]}'/></numatune>"
        template = template.replace("</cputune>", f"</cputune>{numatune}")
    elif device is not None:
        domain, bus, rest = device.split(":")
        slot, function = rest.split(".")
        hostdev = (
            "<hostdev mode='subsystem' type='pci'><source>"
            f"<address domain='0x{domain}' bus='0x{bus}' slot='0x{slot}' function='0x{function}'/>"
            "</source></hostdev>"
        )
        template = template.replace("<devices>", f"<devices>{hostdev}")
    (tmp_path / "cpu1.xml.j2").write_text(template)
    entry = {"name": "cpu1", "resource_class": RESOURCE_CLASS, "template_file": "cpu1.xml.j2"}
    config = tmp_path / "virtfleet.conf"
    config.write_text(f"[libvirt]\nvirt_type = qemu\nslice_spec = {json.dumps(entry)}\n")
    result = CliRunner().invoke(slices, ["validate", "--config", str(config)])
    if message is None:
        assert result.exit_code == 0, result.output
        assert result.output.splitlines() == [
            f"{config}: 1 slices, checked against the host",
            f"cpu1 ({RESOURCE_CLASS}): cpus {pins}",
        ]
        return
    n = os.cpu_count() or 1
    assert result.exit_code == 1
    caps = etree.fromstring(virsh("capabilities").encode())
    cells = format_cpuset(int(c.get("id", "0")) for c in caps.findall("host/topology/cells/cell"))
    cells = cells or "0"  # no NUMA topology: one cell
    expected = message.format(n=n, last=n - 1, cells=cells)
    assert result.output.strip() == f"Error: slice_spec 'cpu1': {expected}"
