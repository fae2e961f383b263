"""A running guest with a Debian kernel live-migrated between two real libvirt hosts
(scripts/libvirt-hosts.sh) of one `virtfleet up`, through
``openstack server migrate --live-migration --wait``: its console shows one boot and
ticks that never restart, the allocation moved, the source has no domain left.

Needs root, libvirtd + QEMU and the x86_64 guest kernel of scripts/guest-images.sh.
"""

from __future__ import annotations

import pathlib
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cloud, StartCloud


pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "libvirt-hosts.sh"
HOSTS = ("vf-lm-a", "vf-lm-b")
CLI_VERSION = ("--os-compute-api-version", "2.80")
TICK = re.compile(r"^tick (\d+)\s*$", re.MULTILINE)


def hosts_script(*args: str) -> str:
    result = subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout.strip()


def virsh(uri: str, *args: str) -> str:
    return subprocess.run(
        ["virsh", "-c", uri, *args], capture_output=True, text=True, check=False
    ).stdout.strip()


@pytest.fixture(scope="module")
def uris() -> Iterator[dict[str, str]]:
    if not SCRIPT.exists():
        pytest.skip("scripts/libvirt-hosts.sh is missing")
    try:
        hosts_script("start", *HOSTS)
        yield {name: hosts_script("uri", name) for name in HOSTS}
    finally:
        hosts_script("purge", *HOSTS)


@pytest.fixture(scope="module")
def cloud(
    tmp_path_factory: pytest.TempPathFactory,
    uris: dict[str, str],
    cloud_starter_module: StartCloud,
) -> Iterator[Cloud]:
    tmp = tmp_path_factory.mktemp("live-migration")
    sockets = tmp / "migration-sockets"
    sockets.mkdir()
    conf = tmp / "virtfleet.conf"
    conf.write_text(f"[libvirt]\nvirt_type = qemu\nlive_migration_socket_dir = {sockets}\n")
    running = cloud_starter_module(
        tmp,
        None,
        "--libvirt",
        uris[HOSTS[0]],
        "--libvirt",
        uris[HOSTS[1]],
        "--config",
        str(conf),
    )
    try:
        running.kernel_image("x86_64", "console=ttyS0 panic=-1 vf.tick", "debian-tick")
        running.openstack(
            "flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "lm.tiny"
        )
        yield running
    finally:
        running.stop()


def ticks(console: str) -> list[int]:
    return [int(n) for n in TICK.findall(console)]


def test_running_guest_moves_without_noticing(cloud: Cloud, uris: dict[str, str]) -> None:
    # `virtfleet up` names its libvirt agents <hostname>, <hostname>-1, ... in order
    base = socket.gethostname()
    uri_of = {base: uris[HOSTS[0]], f"{base}-1": uris[HOSTS[1]]}
    server = cloud.openstack_json(
        "server", "create", "--flavor", "lm.tiny", "--image", "debian-tick", "--wait", "lm-1"
    )
    assert server["status"] == "ACTIVE", server
    uuid = server["id"]
    shown = cloud.openstack_json(*CLI_VERSION, "server", "show", "lm-1")
    source = shown["OS-EXT-SRV-ATTR:host"]
    dest = next(h for h in uri_of if h != source)
    assert virsh(uri_of[source], "domstate", uuid) == "running"

    def console() -> str:
        return cloud.openstack("console", "log", "show", "lm-1").stdout

    deadline = time.monotonic() + 180
    while len(ticks(console())) < 3:
        assert time.monotonic() < deadline, console()
        time.sleep(1)
    before = ticks(console())[-1]
    source_usage = cloud.usage(source)
    assert source_usage.get("VCPU") == 1 and cloud.usage(dest).get("VCPU", 0) == 0

    result = cloud.openstack(
        *CLI_VERSION, "server", "migrate", "--live-migration", "--host", dest, "--wait", "lm-1"
    )
    assert "Complete" in result.stdout, result.stdout + result.stderr
    moved = cloud.openstack_json(*CLI_VERSION, "server", "show", "lm-1")
    assert moved["status"] == "ACTIVE" and moved["OS-EXT-SRV-ATTR:host"] == dest, moved
    (migration,) = cloud.openstack_json(
        *CLI_VERSION, "server", "migration", "list", "--server", "lm-1"
    )
    assert migration["Status"] == "completed", migration
    assert virsh(uri_of[dest], "domstate", uuid) == "running"
    assert uuid not in virsh(uri_of[source], "list", "--all", "--uuid")
    assert cloud.usage(dest).get("VCPU") == 1
    assert cloud.usage(source).get("VCPU", 0) == 0

    deadline = time.monotonic() + 60
    while ticks(console())[-1] < before + 3:
        assert time.monotonic() < deadline, console()
        time.sleep(1)
    text = console()
    seen = ticks(text)
    assert seen == list(range(seen[0], seen[0] + len(seen))), seen  # never restarted
    assert text.count("Linux version") == 1, text  # one boot

    cloud.openstack("server", "delete", "--wait", "lm-1")
    assert uuid not in virsh(uri_of[dest], "list", "--all", "--uuid")
