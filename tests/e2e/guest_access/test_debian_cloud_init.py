"""The Debian 12 cloud image (scripts/cloud-image.sh) boots under TCG on the real
libvirt host through ``virtfleet up`` and the real cloud-init inside takes everything
from virtfleet's own delivery paths. Two guests boot side by side in one cloud (their
boots overlap, so the module costs little more than one boot); the first, with a
config drive, shows:

- the **config drive** (``--config-drive True``: the domain's read-only CD-ROM, an ISO
  labelled config-2): cloud-init's ConfigDrive datasource applies the key pair
  (``--key-name``), the user data (``--user-data``: a cloud-config writing a marker
  file) and the hostname (``--hostname``, 2.90), and its ``network_data.json`` makes
  the guest ask the host's dnsmasq for its address;
- the **metadata service**: from inside the guest, over SSH, 169.254.169.254 answers
  through the host's metadata proxy (DHCP route through the DHCP port) and virtfleet's
  metadata service with this instance's data; the SMBIOS system is Nova's, which
  cloud-init's OpenStack datasource needs;
- **graceful stop**: ``openstack server stop`` shuts the guest down cleanly (the
  kernel's power-down in its console log) within the image's os_shutdown_timeout.

The second has **no config drive**: cloud-init's OpenStack datasource (picked by
ds-identify from the SMBIOS product "OpenStack Nova") reads everything from the
metadata service at 169.254.169.254 (the DHCP route to the host's proxy), and applies
the key pair, the user data and the hostname just the same. Its root password is then
set through the QEMU guest agent (``server set --password``) and root logs in with it
at the getty on the serial console (``console url show --serial``).

The guests are on a flat network whose bridge the test made (with the host's address
on it), so the test reaches them over SSH with the key; another key is refused.

Needs libvirtd at qemu:///system, root (the bridge) and the image of
scripts/cloud-image.sh x86_64.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml
from lxml import etree
from websockets.sync.client import ClientConnection, connect

from support.ci import time_bound
from support.cloud import Cloud, free_port, start_real_cloud, virsh
from support.cloud_image import host_bridge, image_files, make_key, ssh, upload, wait_for_ssh

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

# A /28 of TEST-NET-3 on the test's own bridge (more specific than any /24 another
# test may route at the same time).
HOST_ADDRESS = "203.0.113.241"
GUEST_ADDRESS = "203.0.113.242"  # the config drive guest
METADATA_GUEST_ADDRESS = "203.0.113.250"  # the metadata service guest (the DHCP port
# takes the lowest free address of the pool when the first guest is bound)
SUBNET = "203.0.113.240/28"
POOL = "start=203.0.113.242,end=203.0.113.254"  # the host's .241 is never handed out
PHYSNET = "cinet"
MAC = "fa:16:3e:0c:1e:42"
METADATA_MAC = "fa:16:3e:0c:1e:43"
#: Boot to SSH login under TCG: 56 s after ACTIVE on the quiet 2-core machine, 165 s
#: at load ~3, over 5 minutes at load ~11. Not scaled by time_bound: the tests'
#: timeouts below are built on it, so a guest that never answers fails with its
#: console and DHCP log rather than at pytest's timeout with nothing.
BOOT_TIMEOUT = 900
#: What the guest gets to power off after the ACPI button (systemd under TCG).
SHUTDOWN_TIMEOUT = 180
METADATA_READ = (
    "python3 -c 'import sys, urllib.request; "
    'print(urllib.request.urlopen("http://169.254.169.254" + sys.argv[1], timeout=20)'
    ".read().decode())' "
)


@dataclass(frozen=True)
class Guest:
    """One booted Debian guest: its server, address and what it was given."""

    name: str
    server_id: str
    address: str
    mac: str
    hostname: str
    marker: str
    key: pathlib.Path


@pytest.fixture(scope="module")
def bridge() -> Iterator[str]:
    with host_bridge(f"{HOST_ADDRESS}/28") as name:
        yield name


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, bridge: str) -> Iterator[Cloud]:
    """``virtfleet up`` on the real host whose physical network ``cinet`` is the test's
    bridge, with its metadata service on a free local port (the host's proxy forwards
    there), a flat network and a DHCP subnet on it."""
    tmp_path = tmp_path_factory.mktemp("debian-cloud")
    port = free_port()
    extra_conf = tmp_path / "access.conf"
    extra_conf.write_text(
        f"[network]\nphysical_networks = {PHYSNET}:{bridge}\n"
        f"[metadata]\nlisten = 127.0.0.1:{port}\nservice_url = http://127.0.0.1:{port}\n"
        f"shared_secret = {uuid.uuid4().hex}\n"
    )
    cloud = start_real_cloud(tmp_path, "", "--config", str(extra_conf))
    try:
        cloud.openstack("network", "create", "--provider-network-type", "flat",
                        "--provider-physical-network", PHYSNET, "ci-net")  # fmt: skip
        cloud.openstack(
            "subnet", "create", "--network", "ci-net", "--gateway", "none",
            "--allocation-pool", POOL, "--subnet-range", SUBNET, "ci-v4",
        )  # fmt: skip
        # one vCPU: a second vCPU thread per TCG guest only competes for the cores
        cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "1024", "--disk", "3",
                        "ci.debian")  # fmt: skip
        yield cloud
    finally:
        cloud.stop()


def _user_data(directory: pathlib.Path, marker: str) -> pathlib.Path:
    """A cloud-config writing ``marker`` into /var/lib/virtfleet-test/marker, and a
    setting that needs no package: cloud-init manages /etc/hosts (from its template,
    with the instance's hostname)."""
    path = directory / f"user-data-{marker}"
    path.write_text(
        "#cloud-config\n"
        + yaml.safe_dump(
            {
                "write_files": [{"path": "/var/lib/virtfleet-test/marker", "content": marker}],
                "manage_etc_hosts": True,
            }
        )
    )
    return path


def _create(cloud: Cloud, directory: pathlib.Path, key: pathlib.Path, name: str, address: str,
            mac: str, config_drive: bool) -> Guest:  # fmt: skip
    """Ask for a guest on its own port (fixed MAC and address) with the key pair, user
    data and a hostname, with or without a config drive; no waiting."""
    marker = f"virtfleet-marker-{uuid.uuid4().hex[:12]}"
    hostname = f"ci-{uuid.uuid4().hex[:8]}"
    cloud.openstack(
        "port", "create", "--network", "ci-net", "--mac-address", mac,
        "--fixed-ip", f"subnet=ci-v4,ip-address={address}", f"{name}-port",
    )  # fmt: skip
    drive = ["--config-drive", "True"] if config_drive else []
    server = cloud.openstack_json(
        "--os-compute-api-version", "2.90", "server", "create", "--flavor", "ci.debian",
        "--image", "debian-12", "--port", f"{name}-port", "--key-name", "ci-key",
        "--user-data", str(_user_data(directory, marker)), *drive, "--hostname", hostname,
        name,
    )  # fmt: skip
    return Guest(name, str(server["id"]), address, mac, hostname, marker, key)


@pytest.fixture(scope="module")
def guests(cloud: Cloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Guest]]:
    """Both guests asked for at once, ACTIVE: ``drive`` (config drive) and
    ``metadata`` (none: the metadata service); deleted afterwards (and gone)."""
    directory = tmp_path_factory.mktemp("debian-guests")
    key = make_key(directory)
    cloud.openstack("keypair", "create", "--public-key", str(key.with_suffix(".pub")), "ci-key")
    cloud.openstack(
        "security", "group", "rule", "create", "--ingress", "--protocol", "tcp",
        "--dst-port", "22", "--remote-ip", f"{HOST_ADDRESS}/32", "default",
    )  # fmt: skip
    upload(cloud, image_files("x86_64"), "debian-12",
           properties={"os_shutdown_timeout": str(SHUTDOWN_TIMEOUT),
                       "hw_qemu_guest_agent": "yes"})  # fmt: skip
    made: dict[str, Guest] = {}
    try:
        made["drive"] = _create(cloud, directory, key, "debian-1", GUEST_ADDRESS, MAC, True)
        made["metadata"] = _create(
            cloud, directory, key, "debian-2", METADATA_GUEST_ADDRESS, METADATA_MAC, False
        )
        for guest in made.values():
            shown = cloud.wait_status(guest.name, "ACTIVE", timeout=time_bound(300))
            assert shown["status"] == "ACTIVE", shown
        yield made
    finally:
        for guest in made.values():  # at once: the guests' ACPI shutdowns overlap
            cloud.openstack("server", "delete", guest.name, check=False)
        deadline = time.monotonic() + time_bound(SHUTDOWN_TIMEOUT + 120)
        while made and time.monotonic() < deadline:  # waited for over HTTP
            listed = {s["id"] for s in cloud.api.compute("GET", "/servers")["servers"]}
            if not {g.server_id for g in made.values()} & listed:
                break
            time.sleep(2)
    listed = virsh("list", "--all", "--uuid").split()
    assert not {g.server_id for g in made.values()} & set(listed)


def _login(cloud: Cloud, guest: Guest, seconds: float = BOOT_TIMEOUT) -> float:
    """Wait for the SSH login with the key; the seconds it took from now. When it
    never works, the failure shows what the guest got to."""
    try:
        return wait_for_ssh(guest.key, guest.address, seconds)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{_what_the_guest_got_to(cloud, guest)}") from None


def _what_the_guest_got_to(cloud: Cloud, guest: Guest) -> str:
    """The domain's state, what the network's dnsmasq logged for the guest's MAC, the
    host's neighbour entry for its address and the end of its console."""
    state = virsh("domstate", "--reason", guest.server_id)
    dhcp = [line for line in _dnsmasq_log(cloud) if guest.mac in line]
    neighbour = subprocess.run(["ip", "neigh", "show", "to", guest.address],
                               capture_output=True, text=True, check=False).stdout  # fmt: skip
    console = cloud.openstack("console", "log", "show", guest.name, check=False).stdout
    return (
        f"domain: {state}\nneighbour: {neighbour.strip() or 'none'}\n"
        f"dnsmasq for {guest.mac} (last 20):\n"
        + "\n".join(dhcp[-20:])
        + f"\nconsole (end):\n{console[-6000:]}"
    )


def _dnsmasq_log(cloud: Cloud) -> list[str]:
    """The lines of the cloud's dnsmasq logs (in its own network state directory)."""
    directory = cloud.network_state_directory
    logs = sorted(directory.glob("*/log")) if directory else []
    return [line for log in logs for line in log.read_text(errors="replace").splitlines()]


def _check_applied(guest: Guest) -> dict[str, str]:
    """The key worked (the login), cloud-init is done, the marker and the hostname are
    there; its status.json's v1 section."""
    status = ssh(guest.key, guest.address, "cloud-init status --wait --long", timeout=300)
    assert "status: done" in status, status
    assert ssh(guest.key, guest.address, "cat /var/lib/virtfleet-test/marker").strip() == (
        guest.marker
    )
    assert ssh(guest.key, guest.address, "hostname").strip() == guest.hostname
    hosts = ssh(guest.key, guest.address, "cat /etc/hosts")
    assert "'manage_etc_hosts' as True" in hosts, hosts  # cloud-init's template header
    assert any(line.startswith("127.0.1.1") and guest.hostname in line.split()
               for line in hosts.splitlines()), hosts  # fmt: skip
    found: dict[str, str] = json.loads(
        ssh(guest.key, guest.address, "cat /run/cloud-init/status.json")
    )["v1"]
    # the address came from the host's dnsmasq, as network_data.json asked
    addresses = ssh(guest.key, guest.address, "ip -4 -o addr show scope global")
    assert f"{guest.address}/28" in addresses and "dynamic" in addresses, addresses
    return found


def _config_drive_iso(server_id: str) -> pathlib.Path:
    """The domain's read-only CD-ROM on the q35 SATA bus, labelled config-2: its file."""
    domain = etree.fromstring(virsh("dumpxml", server_id).encode())
    cdrom = domain.find("devices/disk[@device='cdrom']")
    assert cdrom is not None and cdrom.find("readonly") is not None
    target, source = cdrom.find("target"), cdrom.find("source")
    assert target is not None and target.get("bus") == "sata"
    assert source is not None
    iso = pathlib.Path(str(source.get("file")))
    blkid = subprocess.run(
        ["blkid", "-p", "-o", "export", str(iso)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "LABEL=config-2" in blkid and "TYPE=iso9660" in blkid, blkid
    return iso


def _check_metadata_service(guest: Guest) -> None:
    """From inside the guest: the OpenStack and EC2 trees of this instance through
    169.254.169.254, and Nova's SMBIOS system."""
    key, address, server_id = guest.key, guest.address, guest.server_id
    meta = json.loads(ssh(key, address, METADATA_READ + "/openstack/latest/meta_data.json"))
    assert (meta["uuid"], meta["hostname"]) == (server_id, guest.hostname), meta
    ec2_key = ssh(key, address, METADATA_READ + "/latest/meta-data/public-keys/0/openssh-key")
    assert ec2_key.strip() == key.with_suffix(".pub").read_text().strip()
    # the guest cannot claim another identity: the proxy drops its identity headers
    forged = ssh(
        key,
        address,
        "python3 -c 'import urllib.request as u; print(u.urlopen(u.Request("
        '"http://169.254.169.254/openstack/latest/meta_data.json", '
        'headers={"X-Instance-ID": "forged"}), timeout=20).read().decode())\'',
    )
    assert json.loads(forged)["uuid"] == server_id
    assert ssh(key, address, "cat /sys/class/dmi/id/product_name").strip() == "OpenStack Nova"
    serial = ssh(key, address, "sudo cat /sys/class/dmi/id/product_serial").strip()
    assert serial == server_id


def _read_until(ws: ClientConnection, wanted: bytes, seconds: float) -> bytes:
    """The serial console's output until ``wanted`` shows (bounded by ``seconds``)."""
    seen = b""
    deadline = time.monotonic() + time_bound(seconds)
    while wanted not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {wanted!r} on the serial console: {seen[-2000:]!r}"
        try:
            seen += bytes(ws.recv(timeout=left))  # type: ignore[arg-type]  # binary frames
        except TimeoutError:
            continue
    return seen


def _root_login_on_the_serial_console(cloud: Cloud, guest: Guest) -> None:
    """`server set --password` sets root's password through the QEMU guest agent, and
    root logs in with it at the getty on the serial console (`console url show
    --serial`, through the console proxy), where a command's output comes back."""
    password = f"Vf-{uuid.uuid4().hex[:16]}"
    cloud.openstack("server", "set", "--password", password, guest.name)
    serial = cloud.openstack_json("console", "url", "show", "--serial", guest.name)
    with connect(serial["url"], open_timeout=10) as ws:
        ws.send(b"\r")
        _read_until(ws, b"login:", 60)
        ws.send(b"root\r")
        _read_until(ws, b"Password:", 30)
        ws.send(password.encode() + b"\r")
        _read_until(ws, f"root@{guest.hostname}".encode(), 60)
        ws.send(b"echo vf-$((6*7)) && exit\r")
        _read_until(ws, b"vf-42", 30)


def _check_clean_stop(cloud: Cloud, server_id: str) -> float:
    """`server stop` presses the ACPI button and the guest powers itself off (systemd's
    shutdown, the kernel's power-down) before the timeout; the seconds it took."""
    started = time.monotonic()
    cloud.openstack("server", "stop", "debian-1")
    shown = cloud.wait_status("debian-1", "SHUTOFF", timeout=SHUTDOWN_TIMEOUT + 60)
    seconds = time.monotonic() - started
    assert shown["status"] == "SHUTOFF", shown
    console = cloud.openstack("console", "log", "show", "debian-1").stdout
    assert "reboot: Power down" in console, console[-3000:]
    assert f"{server_id} shut down cleanly" in cloud.log.read_text()
    assert f"{server_id} did not shut down within" not in cloud.log.read_text()
    return seconds


@pytest.mark.timeout(BOOT_TIMEOUT * 2 + 600)
def test_debian_guest_without_config_drive_takes_the_metadata_service(
    cloud: Cloud, guests: dict[str, Guest]
) -> None:
    guest = guests["metadata"]
    domain = etree.fromstring(virsh("dumpxml", guest.server_id).encode())
    assert domain.find("devices/disk[@device='cdrom']") is None  # nothing but the network
    print(f"debian guest (metadata service): SSH login {_login(cloud, guest):.0f} s after ACTIVE")
    found = _check_applied(guest)  # the key, the user data's marker, the hostname
    # cloud-init's OpenStack datasource took them from 169.254.169.254, not a config drive
    assert found["datasource"].startswith("DataSourceOpenStack"), found
    assert "ConfigDrive" not in found["datasource"], found
    identified = ssh(guest.key, guest.address, "sudo cat /run/cloud-init/ds-identify.log")
    assert "Found single datasource: OpenStack" in identified, identified
    # what `cloud-init query v1.subplatform` prints, read without starting cloud-init's
    # Python under TCG
    instance = json.loads(
        ssh(guest.key, guest.address, "sudo cat /run/cloud-init/instance-data.json")
    )
    subplatform = instance["v1"]["subplatform"]
    assert subplatform == "metadata (http://169.254.169.254)", subplatform
    log = ssh(guest.key, guest.address, "sudo cat /var/log/cloud-init.log")
    assert "Using metadata source: 'http://169.254.169.254'" in log
    print(f"debian guest (metadata service): {found['datasource']}, {subplatform}")
    _root_login_on_the_serial_console(cloud, guest)
    console = cloud.openstack("console", "log", "show", guest.name).stdout
    assert "Cloud-init v. 22.4" in console and "finished at" in console, console[-3000:]
    # done with it: its ACPI shutdown overlaps the other guest's test
    cloud.openstack("server", "delete", guest.name)


@pytest.mark.timeout(BOOT_TIMEOUT + SHUTDOWN_TIMEOUT + 300)
def test_debian_guest_takes_config_drive_metadata_service_and_stops_cleanly(
    cloud: Cloud, guests: dict[str, Guest], tmp_path: pathlib.Path
) -> None:
    guest = guests["drive"]
    iso = _config_drive_iso(guest.server_id)
    print(f"debian guest (config drive): SSH login {_login(cloud, guest):.0f} s more")
    found = _check_applied(guest)
    # the datasource was virtfleet's config drive (the CD-ROM), nothing else
    assert found["datasource"].startswith("DataSourceConfigDrive"), found
    assert "/dev/sr0" in found["datasource"], found
    _check_metadata_service(guest)
    (tmp_path / "other").mkdir()
    other = make_key(tmp_path / "other")
    with pytest.raises(OSError, match="Permission denied"):
        ssh(other, guest.address, "true")
    console = cloud.openstack("console", "log", "show", guest.name).stdout
    assert "Cloud-init v. 22.4" in console and "finished at" in console, console[-3000:]
    seconds = _check_clean_stop(cloud, guest.server_id)
    print(f"debian guest (config drive): clean stop in {seconds:.0f} s")
    cloud.openstack("server", "delete", "--wait", guest.name)
    assert not iso.exists()
