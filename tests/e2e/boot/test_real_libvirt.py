"""A real x86_64 TCG guest with a Debian kernel, driven by the openstack CLI.

Needs libvirtd at qemu:///system and the guest kernel from scripts/guest-images.sh.
"""

from __future__ import annotations

import pathlib

import pytest

from support.cloud import Cloud, virsh, virsh_error, wait_for

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]


@pytest.fixture(scope="module")
def cloud(libvirt_cloud: Cloud) -> Cloud:
    libvirt_cloud.kernel_image("x86_64", "console=ttyS0 panic=-1", "debian-x86_64")
    libvirt_cloud.openstack(
        "flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "real.tiny"
    )
    return libvirt_cloud


def test_real_guest_lifecycle(cloud: Cloud) -> None:
    server = cloud.openstack_json(
        "server", "create", "--flavor", "real.tiny", "--image", "debian-x86_64", "--wait", "real-1"
    )
    assert server["status"] == "ACTIVE", server
    uuid = server["id"]
    assert virsh("domstate", uuid) == "running"
    dumped = virsh("dumpxml", uuid)
    assert "type='qemu'" in dumped and "arch='x86_64'" in dumped

    def console() -> str:  # over HTTP (support/cloud.py): polled below
        return cloud.console_log("real-1")

    assert wait_for(lambda: "VIRTFLEET-GUEST-READY" in console()), console()
    assert "Linux version 6." in cloud.openstack("console", "log", "show", "real-1").stdout

    cloud.openstack("server", "stop", "real-1")
    assert cloud.wait_status("real-1", "SHUTOFF")["status"] == "SHUTOFF"
    assert virsh("domstate", uuid) == "shut off"
    cloud.openstack("server", "start", "real-1")
    assert cloud.wait_status("real-1", "ACTIVE")["status"] == "ACTIVE"
    assert virsh("domstate", uuid) == "running"
    # The console log is appended to: each boot adds one READY line.
    assert wait_for(lambda: console().count("VIRTFLEET-GUEST-READY") >= 2), console()
    boots = console().count("VIRTFLEET-GUEST-READY")
    cloud.openstack("server", "reboot", "--hard", "--wait", "real-1")
    assert cloud.openstack_json("server", "show", "real-1")["status"] == "ACTIVE"
    assert wait_for(lambda: console().count("VIRTFLEET-GUEST-READY") > boots), console()

    cloud.openstack("server", "delete", "--wait", "real-1")
    # libvirtd has no leftover domain (neither running nor defined), nor files
    assert uuid not in virsh("list", "--all", "--uuid").split()
    assert "failed to get domain" in virsh_error("dominfo", uuid)
    assert not (cloud.data_dir / "instances" / uuid).exists()
    assert cloud.allocations(uuid) == []


def test_guest_that_dies_is_seen_as_shutoff(cloud: Cloud) -> None:
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
    assert cloud.wait_status("real-dies", "SHUTOFF", 30)["status"] == "SHUTOFF"
    cloud.openstack("server", "delete", "--wait", "real-dies")
    assert server["id"] not in virsh("list", "--all", "--uuid")


def test_bad_kernel_ends_in_error_and_leaves_nothing(cloud: Cloud, tmp_path: pathlib.Path) -> None:
    junk = tmp_path / "not-a-kernel"
    junk.write_bytes(b"this is not a kernel\n" * 100)
    junk_id = cloud.openstack_json(
        "image",
        "create",
        "--disk-format",
        "aki",
        "--container-format",
        "aki",
        "--file",
        str(junk),
        "junk-kernel",
    )["id"]
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
    shown = cloud.wait_status("bad-1", "ERROR")
    assert shown["status"] == "ERROR"
    # QEMU itself refuses to start; libvirt's wrapper ("process exited while connecting
    # to monitor" or "qemu unexpectedly closed the monitor") depends on timing, QEMU's
    # own message does not
    fault = shown["fault"]["message"]
    assert "spawn of instance" in fault and "internal error: " in fault, fault
    assert fault.endswith("qemu: invalid kernel header"), fault
    cloud.assert_nothing_left(shown)
    host = cloud.openstack_json("hypervisor", "list")[0]["Hypervisor Hostname"]
    usage = cloud.usage(host)
    assert usage["VCPU"] == 0 and usage["MEMORY_MB"] == 0
    cloud.openstack("server", "delete", "--wait", "bad-1")
