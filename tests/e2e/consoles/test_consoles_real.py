"""Consoles of a real x86_64 TCG guest (Debian kernel, busybox initramfs) on
qemu:///system, through `openstack console url show` and the console proxy: the
serial websocket carries the guest's output, the noVNC websocket QEMU's RFB, and the
console log keeps working; then the same guest, which ignores the ACPI button, is
stopped: forced off after the image's os_shutdown_timeout (one TCG boot for both).

Needs libvirtd at qemu:///system and the guest kernel from scripts/guest-images.sh.
"""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import connect

from support.cloud import Cloud, wait_for

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

SHUTDOWN_TIMEOUT = 3  # the image's os_shutdown_timeout


@pytest.fixture(scope="module")
def cloud(libvirt_cloud: Cloud) -> Cloud:
    libvirt_cloud.kernel_image(
        "x86_64",
        "console=ttyS0 panic=-1 vf.tick",
        "ticking",
        {"hw_video_model": "vga", "os_shutdown_timeout": str(SHUTDOWN_TIMEOUT)},
    )
    libvirt_cloud.openstack(
        "flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "console.tiny"
    )
    return libvirt_cloud


@pytest.fixture(scope="module")
def guest(cloud: Cloud) -> Iterator[dict[str, Any]]:
    """One ticking guest for both tests (one TCG boot): consoles first, then the stop."""
    server = cloud.openstack_json(
        "server", "create", "--flavor", "console.tiny", "--image", "ticking", "--wait", "con-1"
    )
    assert server["status"] == "ACTIVE", server
    # waited for over HTTP (support/cloud.py); `console log show` itself once
    assert wait_for(lambda: "tick 2" in cloud.console_log("con-1"), timeout=120), log(cloud)
    assert "tick 2" in log(cloud)
    yield server
    cloud.openstack("server", "delete", "--wait", "con-1")


def log(cloud: Cloud) -> str:
    return cloud.openstack("console", "log", "show", "con-1").stdout


def test_serial_and_vnc_consoles_of_a_real_guest(cloud: Cloud, guest: dict[str, Any]) -> None:
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

    assert "tick" in log(cloud).splitlines()[-1]  # the log still grows while consoles are used


def test_stop_forces_a_guest_that_ignores_acpi_after_the_image_timeout(
    cloud: Cloud, guest: dict[str, Any]
) -> None:
    """The busybox initramfs guest has no ACPI button driver: it ignores the power
    button, so stop waits the image's os_shutdown_timeout and then forces it off."""
    started = time.monotonic()
    cloud.openstack("server", "stop", "con-1")
    assert cloud.wait_status("con-1", "SHUTOFF", timeout=60)["status"] == "SHUTOFF"
    assert time.monotonic() - started >= SHUTDOWN_TIMEOUT
    forced = f"{guest['id']} did not shut down within {SHUTDOWN_TIMEOUT}s: forcing it off"
    assert wait_for(lambda: forced in cloud.log.read_text(), timeout=10)
