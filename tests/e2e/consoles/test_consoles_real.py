"""Consoles of a real x86_64 TCG guest (Debian kernel, busybox initramfs) on
qemu:///system, through `openstack console url show` and the console proxy: the
serial websocket carries the guest's output, the noVNC websocket QEMU's RFB, and the
console log keeps working.

Needs libvirtd at qemu:///system and the guest kernel from scripts/guest-images.sh.
"""

from __future__ import annotations

import time
import urllib.parse
import urllib.request

import pytest
from websockets.sync.client import connect

from support.cloud import Cloud, wait_for

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]


@pytest.fixture(scope="module")
def cloud(libvirt_cloud: Cloud) -> Cloud:
    libvirt_cloud.kernel_image(
        "x86_64", "console=ttyS0 panic=-1 vf.tick", "ticking", {"hw_video_model": "vga"}
    )
    libvirt_cloud.openstack(
        "flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "console.tiny"
    )
    return libvirt_cloud


def test_serial_and_vnc_consoles_of_a_real_guest(cloud: Cloud) -> None:
    server = cloud.openstack_json(
        "server", "create", "--flavor", "console.tiny", "--image", "ticking", "--wait", "con-1"
    )
    assert server["status"] == "ACTIVE", server

    def log() -> str:
        return cloud.openstack("console", "log", "show", "con-1").stdout

    assert wait_for(lambda: "tick 2" in log(), timeout=120), log()

    serial = cloud.openstack_json("console", "url", "show", "--serial", "con-1")
    assert serial["type"] == "serial" and serial["url"].startswith("ws://127.0.0.1:")
    with connect(serial["url"], open_timeout=10) as ws:
        seen = b""
        for _ in range(20):  # the guest prints a tick a second
            seen += bytes(ws.recv(timeout=10))  # type: ignore[arg-type]  # binary frames
            if b"tick " in seen:
                break
        assert b"tick " in seen, seen

    novnc = cloud.openstack_json("console", "url", "show", "--novnc", "con-1")
    parts = urllib.parse.urlsplit(novnc["url"])
    with urllib.request.urlopen(novnc["url"], timeout=10) as page:  # our proxy
        assert page.status == 200
    path = urllib.parse.parse_qs(parts.query)["path"][0]
    with connect(f"ws://{parts.netloc}/{path}", subprotocols=["binary"], open_timeout=10) as ws:
        assert bytes(ws.recv(timeout=10)).startswith(b"RFB 003.")  # type: ignore[arg-type]

    assert "tick" in log().splitlines()[-1]  # the log still grows while consoles are used
    cloud.openstack("server", "delete", "--wait", "con-1")


def test_stop_forces_a_guest_that_ignores_acpi_after_the_image_timeout(cloud: Cloud) -> None:
    """The busybox initramfs guest has no ACPI button driver: it ignores the power
    button, so stop waits the image's os_shutdown_timeout and then forces it off."""
    cloud.kernel_image("x86_64", "console=ttyS0 panic=-1", "deaf", {"os_shutdown_timeout": "3"})
    server = cloud.openstack_json(
        "server", "create", "--flavor", "console.tiny", "--image", "deaf", "--wait", "deaf-1"
    )
    assert server["status"] == "ACTIVE", server
    assert wait_for(
        lambda: (
            "VIRTFLEET-GUEST-READY" in cloud.openstack("console", "log", "show", "deaf-1").stdout
        ),
        timeout=120,
    )
    started = time.monotonic()
    cloud.openstack("server", "stop", "deaf-1")
    assert cloud.wait_status("deaf-1", "SHUTOFF", timeout=60)["status"] == "SHUTOFF"
    assert time.monotonic() - started >= 3
    assert wait_for(
        lambda: (
            f"{server['id']} did not shut down within 3s: forcing it off" in cloud.log.read_text()
        ),
        timeout=10,
    )
    cloud.openstack("server", "delete", "--wait", "deaf-1")
