"""Boots that fail on the real host, through the openstack CLI: libvirt refusing the
domain, QEMU refusing to start, a guest that crashes at once. Each ends in ERROR with
libvirt's (or QEMU's, or the guest's) own reason in the fault, and leaves no placement
allocation, no domain in libvirtd and no instance directory.

Needs libvirtd at qemu:///system, qemu-system-s390x and the x86_64 guest kernel from
scripts/guest-images.sh.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from support.cloud import Cloud, start_real_cloud

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    # On a busy 2-core machine the s390x firmware may need more than the default 1 s to
    # give up; a longer settle time makes the crash test deterministic.
    running = start_real_cloud(tmp_path_factory.mktemp("fail"), "spawn_settle_seconds = 5\n")
    running.openstack(
        "flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "fail.tiny"
    )
    yield running
    running.stop()


def boot_to_error(cloud: Cloud, image: str, name: str) -> dict[str, Any]:
    cloud.openstack("server", "create", "--flavor", "fail.tiny", "--image", image, name)
    shown = cloud.wait_status(name, "ERROR", 120)
    assert shown["status"] == "ERROR", shown
    return shown


def test_libvirt_refusing_the_domain_xml(cloud: Cloud) -> None:
    # isapc is a real x86_64 machine type (virtfleet's table and the host's capabilities
    # both have it), but it has no PCI bus for the virtio balloon every guest gets:
    # libvirt itself refuses the definition.
    cloud.kernel_image("x86_64", "console=ttyS0", "isapc-x86", {"hw_machine_type": "isapc"})
    shown = boot_to_error(cloud, "isapc-x86", "refused-1")
    fault = shown["fault"]["message"]
    assert "Build failed on host" in fault
    assert "XML error: No PCI buses available" in fault, fault  # libvirt's own words
    cloud.assert_nothing_left(shown)
    cloud.openstack("server", "delete", "--wait", "refused-1")


def test_guest_crashing_at_start(cloud: Cloud, tmp_path: pathlib.Path) -> None:
    # An s390x guest whose disk is blank: the s390-ccw firmware finds no IPL record,
    # loads a disabled-wait PSW, QEMU reports a guest panic and libvirt (on_crash
    # destroy) stops the domain a fraction of a second after it started.
    blank = tmp_path / "blank.raw"
    blank.write_bytes(b"\0" * (1 << 20))
    cloud.openstack(
        "image", "create", "--disk-format", "raw", "--container-format", "bare",
        "--file", str(blank), "--property", "hw_emulation_architecture=s390x", "blank-s390x",
    )  # fmt: skip
    shown = boot_to_error(cloud, "blank-s390x", "crash-1")
    fault = shown["fault"]["message"]
    # libvirt's state: still "crashed (guest panicked)", or already destroyed
    assert "the guest stopped within 5 s of starting; libvirt reports it" in fault, fault
    assert "crashed (guest panicked)" in fault or "shut off (crashed)" in fault, fault
    assert "Failed to load OS from hard disk" in fault, fault  # the firmware's console
    cloud.assert_nothing_left(shown)
    cloud.openstack("server", "delete", "--wait", "crash-1")
