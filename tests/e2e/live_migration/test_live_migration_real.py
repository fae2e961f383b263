"""A running guest with a Debian kernel live-migrated between two real libvirt hosts
(scripts/libvirt-hosts.sh) of one `virtfleet up`, through
``openstack server migrate --live-migration --wait``: its console shows one boot and
ticks that never restart, the allocation moved, the source has no domain left. An
aborted and a failed migration leave it running on the source, allocations as before.
``server migration force complete`` pauses a slow migration's guest, which then runs on
at the destination.

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

from support.ci import unavailable

if TYPE_CHECKING:
    from support.cloud import Cloud, StartCloud


pytestmark = [pytest.mark.libvirt, pytest.mark.libvirt_hosts, pytest.mark.slow]

SCRIPT = pathlib.Path(__file__).resolve().parents[3] / "scripts" / "libvirt-hosts.sh"
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
        unavailable("scripts/libvirt-hosts.sh is missing")
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


def start_slow_migration(cloud: Cloud, source_uri: str, uuid: str, name: str, dest: str) -> str:
    """Throttle the source to 1 MiB/s (slow enough to act on mid-copy), start a live
    migration of ``name`` to ``dest`` and wait until it runs; returns its uuid."""
    virsh(source_uri, "migrate-setspeed", uuid, "1")
    cloud.openstack(*CLI_VERSION, "server", "migrate", "--live-migration", "--host", dest, name)
    deadline = time.monotonic() + 60
    while True:  # waited for over HTTP (support/cloud.py)
        rows = cloud.api.compute("GET", f"/servers/{uuid}/migrations")["migrations"]
        if rows and rows[0]["status"] == "running":
            return str(rows[0]["uuid"])
        assert time.monotonic() < deadline, rows
        time.sleep(0.5)


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
        return cloud.console_log("lm-1")

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
    # the migration's lifecycle events (paused, then stopped on the source) changed
    # nothing: still active and running on the destination
    after = cloud.openstack_json(*CLI_VERSION, "server", "show", "lm-1")
    assert after["status"] == "ACTIVE" and after["OS-EXT-SRV-ATTR:host"] == dest, after
    assert after["OS-EXT-STS:power_state"] in (1, "Running"), after

    cloud.openstack("server", "delete", "--wait", "lm-1")
    assert uuid not in virsh(uri_of[dest], "list", "--all", "--uuid")


def boot_ticking(cloud: Cloud, name: str) -> tuple[str, str]:
    """A ticking guest; (uuid, host)."""
    server = cloud.openstack_json(
        "server", "create", "--flavor", "lm.tiny", "--image", "debian-tick", "--wait", name
    )
    assert server["status"] == "ACTIVE", server
    shown = cloud.openstack_json(*CLI_VERSION, "server", "show", name)
    deadline = time.monotonic() + 180
    while len(ticks(cloud.console_log(name))) < 2:
        assert time.monotonic() < deadline, "the guest never ticked"
        time.sleep(1)
    return str(server["id"]), str(shown["OS-EXT-SRV-ATTR:host"])


def assert_still_on_source(
    cloud: Cloud, name: str, uuid: str, source: str, dest: str, uri_of: dict[str, str]
) -> None:
    shown = cloud.openstack_json(*CLI_VERSION, "server", "show", name)
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == source, shown
    assert virsh(uri_of[source], "domstate", uuid) == "running"
    assert uuid not in virsh(uri_of[dest], "list", "--all", "--uuid")
    assert cloud.usage(source).get("VCPU") == 1
    assert cloud.usage(dest).get("VCPU", 0) == 0
    before = ticks(cloud.console_log(name))[-1]
    deadline = time.monotonic() + 30
    while ticks(cloud.console_log(name))[-1] <= before:
        assert time.monotonic() < deadline, "the guest stopped ticking"
        time.sleep(1)


def test_abort_leaves_the_guest_running_on_the_source(cloud: Cloud, uris: dict[str, str]) -> None:
    base = socket.gethostname()
    uri_of = {base: uris[HOSTS[0]], f"{base}-1": uris[HOSTS[1]]}
    uuid, source = boot_ticking(cloud, "lm-abort")
    dest = next(h for h in uri_of if h != source)
    migration = start_slow_migration(cloud, uri_of[source], uuid, "lm-abort", dest)
    cloud.openstack(*CLI_VERSION, "server", "migration", "abort", "lm-abort", migration)
    deadline = time.monotonic() + 60
    while cloud.server("lm-abort")["status"] != "ACTIVE":
        assert time.monotonic() < deadline, "still migrating after the abort"
        time.sleep(0.5)
    rows = cloud.openstack_json(*CLI_VERSION, "server", "migration", "list", "--server", "lm-abort")
    assert rows[0]["Status"] == "cancelled", rows
    assert_still_on_source(cloud, "lm-abort", uuid, source, dest, uri_of)
    cloud.openstack("server", "delete", "--wait", "lm-abort")


def test_failed_migration_leaves_the_guest_running_on_the_source(
    cloud: Cloud, uris: dict[str, str], tmp_path: pathlib.Path
) -> None:
    base = socket.gethostname()
    uri_of = {base: uris[HOSTS[0]], f"{base}-1": uris[HOSTS[1]]}
    uuid, source = boot_ticking(cloud, "lm-fail")
    dest = next(h for h in uri_of if h != source)
    # the destination already has a domain of that name (another uuid): prepare fails
    squatter = tmp_path / "squatter.xml"
    squatter.write_text(
        f"<domain type='qemu'><name>vf-{uuid}</name><memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    subprocess.run(
        ["virsh", "-c", uri_of[dest], "define", str(squatter)], check=True, capture_output=True
    )
    try:
        result = cloud.openstack(
            *CLI_VERSION,
            "server",
            "migrate",
            "--live-migration",
            "--host",
            dest,
            "--wait",
            "lm-fail",
        )
        assert "Complete" in result.stdout
        rows = cloud.openstack_json(
            *CLI_VERSION, "server", "migration", "list", "--server", "lm-fail"
        )
        assert rows[0]["Status"] == "failed", rows
        assert_still_on_source(cloud, "lm-fail", uuid, source, dest, uri_of)
    finally:
        virsh(uri_of[dest], "undefine", f"vf-{uuid}")
    cloud.openstack("server", "delete", "--wait", "lm-fail")


def test_force_complete_pauses_the_guest_and_it_runs_on_at_the_destination(
    cloud: Cloud, uris: dict[str, str]
) -> None:
    """Force complete of a slow migration (1 MiB/s): libvirt pauses the guest for the
    migration, the migration completes and the guest runs on, ticking, on the
    destination. (An idle guest converges on its own even with a 1 ms downtime limit,
    so convergence itself is shown on simulated hosts; here the bandwidth is raised
    after the pause only to keep the test short.)"""
    base = socket.gethostname()
    uri_of = {base: uris[HOSTS[0]], f"{base}-1": uris[HOSTS[1]]}
    uuid, source = boot_ticking(cloud, "lm-force")
    dest = next(h for h in uri_of if h != source)
    before = ticks(cloud.openstack("console", "log", "show", "lm-force").stdout)[-1]
    migration = start_slow_migration(cloud, uri_of[source], uuid, "lm-force", dest)
    assert virsh(uri_of[source], "domstate", "--reason", uuid) == "running (booted)"
    cloud.openstack(*CLI_VERSION, "server", "migration", "force", "complete", "lm-force", migration)
    assert virsh(uri_of[source], "domstate", "--reason", uuid) == "paused (migrating)"
    virsh(uri_of[source], "migrate-setspeed", uuid, "64")
    deadline = time.monotonic() + 120
    while cloud.server("lm-force")["OS-EXT-STS:task_state"] is not None:
        assert time.monotonic() < deadline, "still migrating after force complete"
        time.sleep(0.5)
    shown = cloud.openstack_json(*CLI_VERSION, "server", "show", "lm-force")
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == dest, shown
    assert shown["OS-EXT-STS:power_state"] in (1, "Running"), shown
    done = cloud.openstack_json(*CLI_VERSION, "server", "migration", "list", "--server", "lm-force")
    assert done[0]["Status"] == "completed", done
    assert virsh(uri_of[dest], "domstate", "--reason", uuid) == "running (migrated)"
    assert uuid not in virsh(uri_of[source], "list", "--all", "--uuid")
    assert cloud.usage(dest).get("VCPU") == 1 and cloud.usage(source).get("VCPU", 0) == 0
    moved = ticks(cloud.openstack("console", "log", "show", "lm-force").stdout)[-1]
    assert moved > before
    deadline = time.monotonic() + 60
    while ticks(cloud.console_log("lm-force"))[-1] < moved + 3:
        assert time.monotonic() < deadline, "the guest stopped ticking on the destination"
        time.sleep(1)
    text = cloud.openstack("console", "log", "show", "lm-force").stdout
    seen = ticks(text)
    assert seen == list(range(seen[0], seen[0] + len(seen))), seen  # never restarted
    assert text.count("Linux version") == 1, text  # one boot
    cloud.openstack("server", "delete", "--wait", "lm-force")
