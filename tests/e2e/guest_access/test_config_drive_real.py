"""A real x86_64 TCG guest booted through the openstack CLI with a key pair, user data
and a config drive: libvirt's domain has the read-only CD-ROM, its ISO is a config-2
volume holding the key and the user data, and a delete removes it.

Needs libvirtd at qemu:///system and the guest kernel from scripts/guest-images.sh.
"""

from __future__ import annotations

import pathlib
import subprocess

import pytest
from lxml import etree

from support.cloud import Cloud, virsh
from virtfleet.virt import config_drive

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA7LiGCTGo+LF1ojcjb9ap5Fimw+tftCBRNubCuYWAL8 t@vf"


def test_config_drive_on_real_libvirt(libvirt_cloud: Cloud, tmp_path: pathlib.Path) -> None:
    cloud = libvirt_cloud
    cloud.kernel_image("x86_64", "console=ttyS0 panic=-1", "cd-x86_64")
    cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "cd.tiny")
    (tmp_path / "k.pub").write_text(KEY + "\n")
    (tmp_path / "user-data").write_text("#cloud-config\nhostname: cd-1\n")
    cloud.openstack("keypair", "create", "--public-key", str(tmp_path / "k.pub"), "cdkey")
    server = cloud.openstack_json(
        "server", "create", "--flavor", "cd.tiny", "--image", "cd-x86_64",
        "--key-name", "cdkey", "--user-data", str(tmp_path / "user-data"),
        "--config-drive", "True", "--wait", "cd-1",
    )  # fmt: skip
    assert server["status"] == "ACTIVE", server
    uuid = server["id"]
    domain = etree.fromstring(virsh("dumpxml", uuid).encode())
    cdrom = domain.find("devices/disk[@device='cdrom']")
    assert cdrom is not None and cdrom.find("readonly") is not None
    assert cdrom.find("target").get("bus") in ("sata", "ide")
    iso = pathlib.Path(cdrom.find("source").get("file"))
    assert iso.is_file() and iso.name == "disk.config"
    blkid = subprocess.run(
        ["blkid", "-p", "-o", "export", str(iso)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "LABEL=config-2" in blkid
    label, files = config_drive.read(str(iso))
    assert label == "config-2"
    assert KEY in files["openstack/latest/meta_data.json"].decode()
    assert files["openstack/latest/user_data"] == b"#cloud-config\nhostname: cd-1\n"
    cloud.openstack("server", "delete", "--wait", "cd-1")
    assert not iso.exists()
