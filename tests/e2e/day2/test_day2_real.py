"""Day-2 operations between two real libvirt hosts (scripts/libvirt-hosts.sh) of one
`virtfleet up`, each agent with an instances path of its own (no shared storage),
through the openstack CLI: pause/unpause and suspend/resume keep the guest's console
counter running; a snapshot of a real guest is a qcow2 image that boots again (and is
rescued from its own image and unrescued: the rescue disk first, its definition back); cold
migrations reverted and confirmed, and a resize of the running guest confirmed, the
disk pulled by the destination from the source, placement usage checked per step;
last, an evacuation from a host that was stopped (its libvirtd ended, its guest's QEMU
killed: the host as an operator finds it dead) and the stale guest removed when it is
back.

The guest is the project's x86_64 test kernel + initramfs (``vf.tick`` prints ``tick
N`` every second) over a small raw root disk with a marker in it, so a snapshot and a
moved disk can be checked byte for byte. One cloud and one guest for the module (the
tests run in order on it); six TCG boots in all: the guest, one from its snapshot, its
start on the destination, its resize, and the evacuation's guest and its rebuild.

Needs root, libvirtd + QEMU and the x86_64 guest kernel of scripts/guest-images.sh.
"""

from __future__ import annotations

import json
import pathlib
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from support.ci import time_bound, unavailable
from support.cloud import GUEST_IMAGES
from virtfleet.virt.libvirt import rescue

if TYPE_CHECKING:
    from support.cloud import Cloud, StartCloud


# each test drives many CLI commands and guest boots (TCG): above the suite's 600 s
pytestmark = [
    pytest.mark.libvirt,
    pytest.mark.libvirt_hosts,
    pytest.mark.slow,
    pytest.mark.timeout(1200),
]

SCRIPT = pathlib.Path(__file__).resolve().parents[3] / "scripts" / "libvirt-hosts.sh"
HOSTS = ("vf-d2-a", "vf-d2-b")
CLI = ("--os-compute-api-version", "2.96")
TICK = re.compile(r"^tick (\d+)\s*$", re.MULTILINE)
MARKER = b"VIRTFLEET-DAY2-DISK-MARKER"
DISK_BYTES = 4 << 20


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
def agents() -> tuple[str, str]:
    """`virtfleet up` names its libvirt agents <hostname>, <hostname>-1, ... in order."""
    base = socket.gethostname()
    return base, f"{base}-1"


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> dict[int, pathlib.Path]:
    """Each agent's own instances path (neither sees the other's)."""
    root = tmp_path_factory.mktemp("day2-instances")
    return {index: root / f"host-{index}" for index in range(2)}


@pytest.fixture(scope="module")
def cloud(
    tmp_path_factory: pytest.TempPathFactory,
    uris: dict[str, str],
    agents: tuple[str, str],
    instances: dict[int, pathlib.Path],
    cloud_starter_module: StartCloud,
) -> Iterator[Cloud]:
    tmp = tmp_path_factory.mktemp("day2-real")
    per_host = tmp / "hosts"
    per_host.mkdir()
    for index, agent in enumerate(agents):
        instances[index].mkdir(parents=True, exist_ok=True)
        (per_host / f"{agent}.conf").write_text(f"[libvirt]\ninstances_path = {instances[index]}\n")
    conf = tmp / "virtfleet.conf"
    conf.write_text(
        f"[DEFAULT]\nhost_config_dir = {per_host}\n[libvirt]\nvirt_type = qemu\n"
        # the test kernel ignores ACPI: stop and cold moves force it off at once; a
        # stopped host's agent reconnects at its next report (the evacuation waits on it)
        "[compute]\nresize_confirm_window = 0\nshutdown_timeout = 0\n"
        "resource_provider_refresh_interval = 10\n"
    )
    started = time.monotonic()
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
    print(f"virtfleet up with two namespaced hosts: {time.monotonic() - started:.1f} s")
    try:
        disk_image(running, tmp / "root.raw")
        running.openstack("flavor", "create", "--vcpus", "1", "--ram", "192", "--disk", "1",
                          "d2.small")  # fmt: skip
        running.openstack("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "2",
                          "d2.large")  # fmt: skip
        yield running
    finally:
        running.stop()


def disk_image(cloud: Cloud, raw: pathlib.Path) -> None:
    """``d2-tick``: a raw root disk holding :data:`MARKER`, booted with the test kernel
    + initramfs (``kernel_id``/``ramdisk_id``) that ticks on the console."""
    kernel, initrd = GUEST_IMAGES / "vmlinuz-x86_64", GUEST_IMAGES / "initrd-x86_64.gz"
    if not (kernel.exists() and initrd.exists()):
        pytest.fail(f"no x86_64 guest kernel in {GUEST_IMAGES}: run scripts/guest-images.sh")
    ids = {}
    for kind, path in (("aki", kernel), ("ari", initrd)):
        formats = ["--disk-format", kind, "--container-format", kind]
        ids[kind] = cloud.openstack_json(
            "image", "create", *formats, "--file", str(path), f"d2-{kind}"
        )["id"]
    with raw.open("wb") as out:
        out.truncate(DISK_BYTES)
        out.seek(1 << 20)
        out.write(MARKER)
    props = [
        f"kernel_id={ids['aki']}",
        f"ramdisk_id={ids['ari']}",
        "os_command_line=console=ttyS0 panic=-1 vf.tick",
    ]
    cloud.openstack(
        "image", "create", "--disk-format", "raw", "--container-format", "bare",
        "--file", str(raw), *[a for p in props for a in ("--property", p)], "d2-tick",
    )  # fmt: skip


def ticks(console: str) -> list[int]:
    return [int(n) for n in TICK.findall(console)]


def wait_ticks(cloud: Cloud, name: str, above: int, seconds: float = 120) -> int:
    """Wait until the console shows a tick beyond ``above``; the last one."""
    deadline = time.monotonic() + time_bound(seconds)
    while True:
        seen = ticks(cloud.console_log(name))
        if seen and seen[-1] > above:
            return seen[-1]
        assert time.monotonic() < deadline, f"{name}: no tick beyond {above}: {seen[-5:]}"
        time.sleep(2)


def wait_settled(cloud: Cloud, name: str, status: str, seconds: float = 120) -> dict[str, Any]:
    """`server show` once the task ended with ``status`` (waited for over HTTP)."""
    deadline = time.monotonic() + time_bound(seconds)
    while True:
        server = cloud.server(name)
        if server["status"] == status and not server["OS-EXT-STS:task_state"]:
            shown: dict[str, Any] = cloud.openstack_json(*CLI, "server", "show", name)
            return shown
        assert server["status"] != "ERROR", server
        assert time.monotonic() < deadline, server
        time.sleep(1)


def boot(cloud: Cloud, name: str, image: str = "d2-tick", *extra: str) -> dict[str, Any]:
    server = cloud.openstack_json(
        "server", "create", "--flavor", "d2.small", "--image", image, *extra, "--wait", name
    )
    assert server["status"] == "ACTIVE", server
    wait_ticks(cloud, name, 1)
    shown: dict[str, Any] = cloud.openstack_json(*CLI, "server", "show", name)
    return shown


@pytest.fixture(scope="module")
def guest(cloud: Cloud) -> dict[str, Any]:
    """The module's one guest, ``d2-g`` (its ``server show`` at boot)."""
    return boot(cloud, "d2-g")


SMALL = {"VCPU": 1, "MEMORY_MB": 192, "DISK_GB": 1}
LARGE = {"VCPU": 1, "MEMORY_MB": 256, "DISK_GB": 2}
NONE = {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}


def held(cloud: Cloud, host: str) -> dict[str, int]:
    """Placement usage of ``host`` in the classes a flavor claims."""
    usage = cloud.usage(host)
    return {rc: int(usage.get(rc, 0)) for rc in NONE}


def assert_held(cloud: Cloud, expected: dict[str, dict[str, int]]) -> None:
    assert {host: held(cloud, host) for host in expected} == expected


def test_pause_suspend_and_snapshot_of_a_running_guest(
    cloud: Cloud,
    uris: dict[str, str],
    agents: tuple[str, str],
    guest: dict[str, Any],
    tmp_path: pathlib.Path,
) -> None:
    """Pause/unpause and suspend/resume (managed save) keep the console counter going
    on from where it was; the snapshot is a qcow2 of the guest's disk (the marker in
    it) that boots a second guest."""
    uri_of = dict(zip(agents, (uris[HOSTS[0]], uris[HOSTS[1]]), strict=True))
    uuid, host = guest["id"], guest["OS-EXT-SRV-ATTR:host"]
    other = next(a for a in agents if a != host)
    assert_held(cloud, {host: SMALL, other: NONE})
    before = wait_ticks(cloud, "d2-g", 2)

    cloud.openstack("server", "pause", "d2-g")
    wait_settled(cloud, "d2-g", "PAUSED")
    assert virsh(uri_of[host], "domstate", uuid) == "paused"
    cloud.openstack("server", "unpause", "d2-g")
    wait_settled(cloud, "d2-g", "ACTIVE")
    after_pause = wait_ticks(cloud, "d2-g", before)

    cloud.openstack("server", "suspend", "d2-g")
    wait_settled(cloud, "d2-g", "SUSPENDED")
    assert virsh(uri_of[host], "domstate", uuid) == "shut off"
    assert "yes" in virsh(uri_of[host], "dominfo", uuid).split("Managed save:")[1].splitlines()[0]
    assert_held(cloud, {host: SMALL, other: NONE})  # a suspended guest keeps its claim
    cloud.openstack("server", "resume", "d2-g")
    wait_settled(cloud, "d2-g", "ACTIVE")
    after_resume = wait_ticks(cloud, "d2-g", after_pause)
    console = cloud.openstack("console", "log", "show", "d2-g").stdout
    seen = ticks(console)
    assert seen == list(range(1, len(seen) + 1)), seen  # one count, never restarted
    assert after_resume > after_pause > before
    assert console.count("Linux version") == 1, console  # one boot

    cloud.openstack(*CLI, "server", "image", "create", "--wait", "--name", "d2-snap", "d2-g")
    image = cloud.openstack_json("image", "show", "d2-snap")
    assert image["status"] == "active" and image["disk_format"] == "qcow2", image
    saved = tmp_path / "snap.qcow2"
    cloud.openstack("image", "save", "--file", str(saved), "d2-snap")
    raw = tmp_path / "snap.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(saved), str(raw)],
                   check=True, capture_output=True)  # fmt: skip
    assert MARKER in raw.read_bytes()
    wait_settled(cloud, "d2-g", "ACTIVE")
    wait_ticks(cloud, "d2-g", after_resume)  # the guest ran on after the snapshot

    booted = boot(cloud, "d2-from-snap", "d2-snap")
    assert booted["id"] != uuid
    rescue_and_unrescue(cloud, uri_of[booted["OS-EXT-SRV-ATTR:host"]], booted)
    cloud.openstack("server", "delete", "--wait", "d2-from-snap")
    cloud.openstack("image", "delete", "d2-snap")
    for uri in uri_of.values():
        assert booted["id"] not in virsh(uri, "list", "--all", "--uuid")
    assert_held(cloud, {host: SMALL, other: NONE})


def booted_again(
    cloud: Cloud, uri: str, name: str, uuid: str, old_id: str, seconds: float = 120
) -> str:
    """Wait until the guest runs as a new QEMU process (its domain id changed) whose
    latest boot on the console ticks from 1 to 2 or more; its domain id."""
    deadline = time.monotonic() + time_bound(seconds)
    while True:
        domid = virsh(uri, "domid", uuid)
        latest = cloud.console_log(name).split("Linux version")
        counted = [int(n) for n in TICK.findall(latest[-1])]
        if domid != old_id and len(latest) > 1 and counted[:2] == [1, 2]:
            return domid
        assert time.monotonic() < deadline, f"{name}: no new boot ticking ({domid}): {counted}"
        time.sleep(2)


def rescue_and_unrescue(cloud: Cloud, uri: str, server: dict[str, Any]) -> None:
    """A real TCG guest rescued from its own image: its live domain boots the rescue
    disk first with its own disk second, the placement usage unchanged; unrescued, its
    definition is the one before (byte for byte) and it boots and runs again."""
    name, uuid, host = server["name"], server["id"], server["OS-EXT-SRV-ATTR:host"]
    usage = held(cloud, host)
    before = virsh(uri, "dumpxml", "--inactive", uuid)
    [(_, own_disk)] = rescue.disk_sources(before)
    domid = virsh(uri, "domid", uuid)
    started = time.monotonic()
    cloud.openstack("server", "rescue", name)
    shown = wait_settled(cloud, name, "RESCUE")
    assert shown["OS-EXT-STS:vm_state"] == "rescued", shown
    assert virsh(uri, "domstate", uuid) == "running"
    rescue_disk = str(pathlib.Path(own_disk).with_name(rescue.RESCUE_DISK))
    live = rescue.disk_sources(virsh(uri, "dumpxml", uuid))
    assert live == [("vda", rescue_disk), ("vdb", own_disk)], live
    domid = booted_again(cloud, uri, name, uuid, domid)  # the rescue boot runs
    assert held(cloud, host) == usage
    cloud.openstack("server", "unrescue", name)
    wait_settled(cloud, name, "ACTIVE")
    assert virsh(uri, "dumpxml", "--inactive", uuid) == before
    assert virsh(uri, "domstate", uuid) == "running"
    assert not pathlib.Path(rescue_disk).exists()
    booted_again(cloud, uri, name, uuid, domid)  # from its own disk again, running
    assert held(cloud, host) == usage
    events = cloud.openstack_json(*CLI, "server", "event", "list", name)
    assert [e["Action"] for e in events][:2] == ["unrescue", "rescue"]
    print(f"rescue + unrescue of a real TCG guest: {time.monotonic() - started:.1f} s")


PATTERN = "0x5a"


def qemu_io(disk: pathlib.Path, command: str) -> None:
    """Run one qemu-io command on a qcow2 disk no guest has open; fails the test when
    it fails (e.g. a read whose pattern does not match)."""
    result = subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, str(disk)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0 and "failed" not in result.stdout + result.stderr, result


def qemu_img_backing(disk: pathlib.Path) -> str:
    """The backing file a qcow2 disk names (read while a guest may run it)."""
    info = subprocess.run(["qemu-img", "info", "-U", "--output=json", str(disk)],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    return str(json.loads(info).get("backing-filename", ""))


def test_cold_moves_between_hosts_without_shared_storage(
    cloud: Cloud,
    uris: dict[str, str],
    agents: tuple[str, str],
    instances: dict[int, pathlib.Path],
    guest: dict[str, Any],
) -> None:
    """The stopped guest gets data of its own on its disk, then: cold migration +
    revert (back on the source, from its kept disk), cold migration + confirm (the
    destination pulled the disk, the data came along, the source keeps nothing), a
    start there (it boots from the pulled disk), and a resize of the running guest +
    confirm. Placement usage of both hosts after each step."""
    uri_of = dict(zip(agents, (uris[HOSTS[0]], uris[HOSTS[1]]), strict=True))
    path_of = {agent: instances[index] for index, agent in enumerate(agents)}
    uuid, source = guest["id"], wait_settled(cloud, "d2-g", "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    dest = next(a for a in agents if a != source)
    cloud.openstack("server", "stop", "d2-g")
    wait_settled(cloud, "d2-g", "SHUTOFF")
    qemu_io(path_of[source] / uuid / "disk", f"write -P {PATTERN} 2M 64k")
    kept = path_of[source] / f"{uuid}_resize"

    # cold migration, reverted: the destination's copy goes, the source's disk is back
    cloud.openstack(*CLI, "server", "migrate", "--host", dest, "--wait", "d2-g")
    moved = wait_settled(cloud, "d2-g", "VERIFY_RESIZE")
    assert moved["OS-EXT-SRV-ATTR:host"] == dest, moved
    assert virsh(uri_of[dest], "domstate", uuid) == "shut off"
    assert uuid not in virsh(uri_of[source], "list", "--all", "--uuid")
    assert (kept / "disk").is_file()  # the source keeps its disk meanwhile
    assert_held(cloud, {source: SMALL, dest: SMALL})  # the migration record holds the source
    cloud.openstack(*CLI, "server", "migrate", "revert", "d2-g")
    reverted = wait_settled(cloud, "d2-g", "SHUTOFF")
    assert reverted["OS-EXT-SRV-ATTR:host"] == source, reverted
    assert virsh(uri_of[source], "domstate", uuid) == "shut off"
    assert uuid not in virsh(uri_of[dest], "list", "--all", "--uuid")
    assert not (path_of[dest] / uuid).exists() and not kept.exists()
    qemu_io(path_of[source] / uuid / "disk", f"read -P {PATTERN} 2M 64k")
    assert_held(cloud, {source: SMALL, dest: NONE})

    # cold migration, confirmed: the pulled disk, over the destination's own base
    cloud.openstack(*CLI, "server", "migrate", "--host", dest, "--wait", "d2-g")
    wait_settled(cloud, "d2-g", "VERIFY_RESIZE")
    pulled = path_of[dest] / uuid / "disk"
    assert str(path_of[dest]) in qemu_img_backing(pulled)
    qemu_io(pulled, f"read -P {PATTERN} 2M 64k")  # the guest's data came along
    cloud.openstack(*CLI, "server", "migrate", "confirm", "d2-g")
    confirmed = wait_settled(cloud, "d2-g", "SHUTOFF")
    assert confirmed["OS-EXT-SRV-ATTR:host"] == dest, confirmed
    assert not kept.exists() and not (path_of[source] / uuid).exists()
    assert uuid not in virsh(uri_of[source], "list", "--all", "--uuid")
    assert_held(cloud, {source: NONE, dest: SMALL})
    cloud.openstack("server", "start", "d2-g")
    wait_settled(cloud, "d2-g", "ACTIVE")
    assert virsh(uri_of[dest], "domstate", uuid) == "running"
    wait_ticks(cloud, "d2-g", 1)  # boots from the pulled disk

    # resize of the running guest (to the only other host), confirmed
    cloud.openstack(*CLI, "server", "resize", "--flavor", "d2.large", "--wait", "d2-g")
    resized = wait_settled(cloud, "d2-g", "VERIFY_RESIZE")
    assert resized["OS-EXT-SRV-ATTR:host"] == source, resized
    assert resized["flavor"]["original_name"] == "d2.large", resized
    assert virsh(uri_of[source], "domstate", uuid) == "running"
    assert "262144" in virsh(uri_of[source], "dominfo", uuid).replace(" ", "")  # 256 MiB
    assert uuid not in virsh(uri_of[dest], "list", "--all", "--uuid")
    assert_held(cloud, {source: LARGE, dest: SMALL})
    cloud.openstack(*CLI, "server", "resize", "confirm", "d2-g")
    final = wait_settled(cloud, "d2-g", "ACTIVE")
    assert final["OS-EXT-SRV-ATTR:host"] == source
    assert not (path_of[dest] / uuid).exists()
    assert not (path_of[dest] / f"{uuid}_resize").exists()
    assert_held(cloud, {source: LARGE, dest: NONE})
    wait_ticks(cloud, "d2-g", 1)
    events = [e["Action"] for e in cloud.openstack_json(*CLI, "server", "event", "list", "d2-g")]
    assert {"migrate", "revertResize", "confirmResize", "resize"} <= set(events), events
    cloud.openstack("server", "delete", "--wait", "d2-g")
    for uri in uri_of.values():
        assert uuid not in virsh(uri, "list", "--all", "--uuid")
    assert_held(cloud, {source: NONE, dest: NONE})


# Keep this test last: it stops a host (restored in its finally, whatever happened).


def qemu_pids(uuid: str) -> list[int]:
    """The QEMU processes running the guest ``uuid`` (``-uuid`` on their command line)."""
    pids = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended meanwhile
        if comm.startswith("qemu-system") and uuid.encode() in args:
            pids.append(int(proc.name))
    return pids


def provider_uuid(cloud: Cloud, host: str) -> str:
    (provider,) = cloud.openstack_json("resource", "provider", "list", "--name", host)
    return str(provider["uuid"])


def wait_gone(uri: str, uuid: str, directory: pathlib.Path, seconds: float) -> float:
    """Wait until ``uri`` has no domain ``uuid`` and ``directory`` is gone; how long."""
    started = time.monotonic()
    deadline = started + time_bound(seconds)
    while uuid in virsh(uri, "list", "--all", "--uuid") or directory.exists():
        assert time.monotonic() < deadline, (virsh(uri, "list", "--all"), directory.exists())
        time.sleep(2)
    return time.monotonic() - started


def test_evacuation_from_a_stopped_host_and_its_return(
    cloud: Cloud,
    uris: dict[str, str],
    agents: tuple[str, str],
    instances: dict[int, pathlib.Path],
) -> None:
    """A guest's host stops (its libvirtd ended, the guest's QEMU killed) and its
    service is forced down; `server evacuate` (before 2.95, so it stays ACTIVE) rebuilds
    the guest from its image on the other host, where it boots and ticks; the source
    holds the flavor for the migration (`done`) until its libvirtd is back, when its
    agent removes the stale domain and instance directory, frees that allocation and
    the migration is `completed`."""
    started = time.monotonic()
    shown = boot(cloud, "d2-evac")
    uuid, source = shown["id"], shown["OS-EXT-SRV-ATTR:host"]
    index = agents.index(source)
    dest = agents[1 - index]
    source_host, source_uri, dest_uri = HOSTS[index], uris[HOSTS[index]], uris[HOSTS[1 - index]]
    assert virsh(source_uri, "domstate", uuid) == "running"
    assert_held(cloud, {source: SMALL, dest: NONE})
    print(f"evacuation guest booted: {time.monotonic() - started:.1f} s")
    try:
        # the host as an operator finds it dead: no libvirtd, no guest process
        hosts_script("stop", source_host)
        pids = qemu_pids(uuid)
        assert pids, "the guest's QEMU is not running on the source"
        for pid in pids:
            subprocess.run(["kill", "-KILL", str(pid)], check=True)
        refused = cloud.openstack(*CLI, "server", "evacuate", "d2-evac", check=False)
        assert refused.returncode != 0 and "still in use" in refused.stderr, refused
        cloud.openstack(*CLI, "compute", "service", "set", "--down", source, "nova-compute")
        services = cloud.openstack_json(*CLI, "compute", "service", "list", "--host", source)
        assert [s["State"] for s in services] == ["down"], services

        moving = time.monotonic()
        # not --wait: python-openstackclient's evacuate waits for 'ACTIVE' in statuses it
        # lowercases first (osc_lib wait_for_status), so it never sees the end
        cloud.openstack("--os-compute-api-version", "2.94", "server", "evacuate", "d2-evac")
        evacuated = wait_settled(cloud, "d2-evac", "ACTIVE")
        assert evacuated["OS-EXT-SRV-ATTR:host"] == dest, evacuated
        assert virsh(dest_uri, "domstate", uuid) == "running"
        wait_ticks(cloud, "d2-evac", 1)
        print(f"evacuated, ticking on {dest}: {time.monotonic() - moving:.1f} s")
        console = cloud.openstack("console", "log", "show", "d2-evac").stdout
        assert console.count("Linux version") == 1, console  # the rebuild's own boot
        (row,) = cloud.allocations(uuid)  # the server holds the destination only
        assert row["resource_provider"] == provider_uuid(cloud, dest), row
        assert_held(cloud, {source: SMALL, dest: SMALL})  # the source's by the migration
        (migration,) = cloud.openstack_json(*CLI, "server", "migration", "list",
                                            "--server", "d2-evac")  # fmt: skip
        assert (migration["Type"], migration["Status"]) == ("evacuation", "done"), migration
        events = cloud.openstack_json(*CLI, "server", "event", "list", "d2-evac")
        assert "evacuate" in [e["Action"] for e in events], events
        assert (instances[index] / uuid).is_dir()  # the stale copy, until the host returns

        hosts_script("start", source_host)  # its agent reconnects at its next report
        cleaned = wait_gone(source_uri, uuid, instances[index] / uuid, 150)
        print(f"{source} back: stale guest removed after {cleaned:.1f} s")
    finally:  # whatever failed: the host and its service back for what follows
        hosts_script("start", source_host)
        cloud.openstack(*CLI, "compute", "service", "set", "--up", source, "nova-compute")
    assert_held(cloud, {source: NONE, dest: SMALL})
    (migration,) = cloud.openstack_json(*CLI, "server", "migration", "list", "--server", "d2-evac")
    assert migration["Status"] == "completed", migration
    assert virsh(dest_uri, "domstate", uuid) == "running"
    cloud.openstack("server", "delete", "--wait", "d2-evac")
    for uri in uris.values():
        assert uuid not in virsh(uri, "list", "--all", "--uuid")
    assert_held(cloud, {source: NONE, dest: NONE})
    print(f"evacuation test: {time.monotonic() - started:.1f} s")
