"""The Debian 12 cloud image (scripts/cloud-image.sh) boots under TCG on the real
libvirt host through ``virtfleet up`` and the real cloud-init inside takes everything
from virtfleet's own delivery paths, on one boot:

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

The guest is on a flat network whose bridge the test made (with the host's address on
it), so the test reaches it over SSH with the key; another key is refused.

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

import pytest
import yaml
from lxml import etree

from support.cloud import Cloud, free_port, start_real_cloud, virsh
from support.cloud_image import host_bridge, image_files, make_key, ssh, upload, wait_for_ssh

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

# A /28 of TEST-NET-3 on the test's own bridge (more specific than any /24 another
# test may route at the same time).
HOST_ADDRESS = "203.0.113.241"
GUEST_ADDRESS = "203.0.113.242"
SUBNET = "203.0.113.240/28"
POOL = "start=203.0.113.242,end=203.0.113.254"  # the host's .241 is never handed out
PHYSNET = "cinet"
MAC = "fa:16:3e:0c:1e:42"
#: Boot to SSH login under TCG: 104 s after ACTIVE at load ~4 on the 2-core machine,
#: over 5 minutes at load ~11.
BOOT_TIMEOUT = 900
#: What the guest gets to power off after the ACPI button (systemd under TCG).
SHUTDOWN_TIMEOUT = 180
METADATA_READ = (
    "python3 -c 'import sys, urllib.request; "
    'print(urllib.request.urlopen("http://169.254.169.254" + sys.argv[1], timeout=20)'
    ".read().decode())' "
)


@pytest.fixture
def bridge() -> Iterator[str]:
    with host_bridge(f"{HOST_ADDRESS}/28") as name:
        yield name


@pytest.fixture
def cloud(tmp_path: pathlib.Path, bridge: str) -> Iterator[Cloud]:
    """``virtfleet up`` on the real host whose physical network ``cinet`` is the test's
    bridge, with its metadata service on a free local port (the host's proxy forwards
    there), a flat network and a DHCP subnet on it."""
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
        cloud.openstack("flavor", "create", "--vcpus", "2", "--ram", "1024", "--disk", "3",
                        "ci.debian")  # fmt: skip
        yield cloud
    finally:
        cloud.stop()


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


def _check_metadata_service(key: pathlib.Path, server_id: str, hostname: str) -> None:
    """From inside the guest: the OpenStack and EC2 trees of this instance through
    169.254.169.254, and Nova's SMBIOS system."""
    meta = json.loads(ssh(key, GUEST_ADDRESS, METADATA_READ + "/openstack/latest/meta_data.json"))
    assert (meta["uuid"], meta["hostname"]) == (server_id, hostname), meta
    ec2_key = ssh(key, GUEST_ADDRESS, METADATA_READ + "/latest/meta-data/public-keys/0/openssh-key")
    assert ec2_key.strip() == key.with_suffix(".pub").read_text().strip()
    # the guest cannot claim another identity: the proxy drops its identity headers
    forged = ssh(
        key,
        GUEST_ADDRESS,
        "python3 -c 'import urllib.request as u; print(u.urlopen(u.Request("
        '"http://169.254.169.254/openstack/latest/meta_data.json", '
        'headers={"X-Instance-ID": "forged"}), timeout=20).read().decode())\'',
    )
    assert json.loads(forged)["uuid"] == server_id
    assert ssh(key, GUEST_ADDRESS, "cat /sys/class/dmi/id/product_name").strip() == "OpenStack Nova"
    serial = ssh(key, GUEST_ADDRESS, "sudo cat /sys/class/dmi/id/product_serial").strip()
    assert serial == server_id


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


@pytest.mark.timeout(BOOT_TIMEOUT + SHUTDOWN_TIMEOUT + 300)
def test_debian_guest_takes_config_drive_metadata_service_and_stops_cleanly(
    cloud: Cloud, tmp_path: pathlib.Path
) -> None:
    key = make_key(tmp_path)
    marker = f"virtfleet-marker-{uuid.uuid4().hex[:12]}"
    hostname = f"ci-{uuid.uuid4().hex[:8]}"
    user_data = tmp_path / "user-data"
    user_data.write_text(
        "#cloud-config\n"
        + yaml.safe_dump(
            {"write_files": [{"path": "/var/lib/virtfleet-test/marker", "content": marker}]}
        )
    )
    cloud.openstack("keypair", "create", "--public-key", str(key.with_suffix(".pub")), "ci-key")
    cloud.openstack(
        "port", "create", "--network", "ci-net", "--mac-address", MAC,
        "--fixed-ip", f"subnet=ci-v4,ip-address={GUEST_ADDRESS}", "ci-port",
    )  # fmt: skip
    cloud.openstack(
        "security", "group", "rule", "create", "--ingress", "--protocol", "tcp",
        "--dst-port", "22", "--remote-ip", f"{HOST_ADDRESS}/32", "default",
    )  # fmt: skip
    upload(cloud, image_files("x86_64"), "debian-12",
           properties={"os_shutdown_timeout": str(SHUTDOWN_TIMEOUT)})  # fmt: skip

    server = cloud.openstack_json(
        "--os-compute-api-version", "2.90", "server", "create", "--flavor", "ci.debian",
        "--image", "debian-12", "--port", "ci-port", "--key-name", "ci-key",
        "--user-data", str(user_data), "--config-drive", "True", "--hostname", hostname,
        "--wait", "debian-1",
    )  # fmt: skip
    assert server["status"] == "ACTIVE", server
    server_id = server["id"]
    iso = _config_drive_iso(server_id)
    try:
        try:
            seconds = wait_for_ssh(key, GUEST_ADDRESS, BOOT_TIMEOUT)
        except AssertionError as error:
            console = cloud.openstack("console", "log", "show", "debian-1").stdout
            raise AssertionError(f"{error}\nconsole (end):\n{console[-6000:]}") from None
        print(f"debian guest: SSH login {seconds:.0f} s after ACTIVE")
        assert ssh(key, GUEST_ADDRESS, "cat /var/lib/virtfleet-test/marker").strip() == marker
        assert ssh(key, GUEST_ADDRESS, "hostname").strip() == hostname
        status = ssh(key, GUEST_ADDRESS, "cloud-init status --wait --long", timeout=BOOT_TIMEOUT)
        assert "status: done" in status, status
        # the datasource was virtfleet's config drive (the CD-ROM), nothing else
        found = json.loads(ssh(key, GUEST_ADDRESS, "cat /run/cloud-init/status.json"))
        datasource = found["v1"]["datasource"]
        assert datasource.startswith("DataSourceConfigDrive") and "/dev/sr0" in datasource
        # the address came from the host's dnsmasq, as network_data.json asked
        addresses = ssh(key, GUEST_ADDRESS, "ip -4 -o addr show scope global")
        assert f"{GUEST_ADDRESS}/28" in addresses and "dynamic" in addresses, addresses
        _check_metadata_service(key, server_id, hostname)
        (tmp_path / "other").mkdir()
        other = make_key(tmp_path / "other")
        with pytest.raises(OSError, match="Permission denied"):
            ssh(other, GUEST_ADDRESS, "true")
        console = cloud.openstack("console", "log", "show", "debian-1").stdout
        assert "Cloud-init v. 22.4" in console and "finished at" in console, console[-3000:]
        print(f"debian guest: clean stop in {_check_clean_stop(cloud, server_id):.0f} s")
    finally:
        cloud.openstack("server", "delete", "--wait", "debian-1")
    assert server_id not in virsh("list", "--all", "--uuid").split()
    assert not iso.exists()
