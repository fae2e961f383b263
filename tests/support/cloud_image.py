"""The Debian 12 cloud image of scripts/cloud-image.sh, on a real cloud: its files,
uploading it as a kernel-booted image, a bridge on the host for reaching its guests,
and logging in over SSH."""

from __future__ import annotations

import os
import pathlib
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from support.ci import time_bound
from support.cloud import Cloud

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "cloud-image.sh"
LOGIN_USER = "debian"  # cloud-init's default user in Debian's cloud.cfg


@dataclass(frozen=True)
class ImageFiles:
    """One architecture's build: root filesystem, kernel, initramfs, command line."""

    qcow2: pathlib.Path
    vmlinuz: pathlib.Path
    initrd: pathlib.Path
    cmdline: str


def image_files(arch: str = "x86_64") -> ImageFiles:
    """The files the current scripts/cloud-image.sh built for ``arch``, or those in
    ``$VIRTFLEET_CLOUD_IMAGE_DIR`` when set (to try another build); the test fails,
    naming the command, when they are missing."""
    override = os.environ.get("VIRTFLEET_CLOUD_IMAGE_DIR")
    if override:
        directory = pathlib.Path(override)
    else:
        found = subprocess.run(["bash", str(SCRIPT), "--dir"], capture_output=True, text=True)
        directory = pathlib.Path(found.stdout.strip())
    files = ImageFiles(
        qcow2=directory / f"{arch}.qcow2",
        vmlinuz=directory / f"{arch}.vmlinuz",
        initrd=directory / f"{arch}.initrd",
        cmdline=(directory / f"{arch}.cmdline").read_text().strip()
        if (directory / f"{arch}.cmdline").exists()
        else "",
    )
    if not (files.qcow2.exists() and files.vmlinuz.exists() and files.initrd.exists()):
        pytest.fail(f"Debian cloud image for {arch} missing: run scripts/cloud-image.sh {arch}")
    return files


def upload(
    cloud: Cloud,
    files: ImageFiles,
    name: str,
    extra_cmdline: str = "",
    properties: dict[str, str] | None = None,
) -> str:
    """Upload ``files`` as aki/ari images and a qcow2 image ``name`` booting them
    (kernel_id, ramdisk_id, os_command_line, and ``properties``); the qcow2 image's
    id."""
    ids = {}
    for kind, path in (("aki", files.vmlinuz), ("ari", files.initrd)):
        formats = ["--disk-format", kind, "--container-format", kind]
        image = cloud.openstack_json("image", "create", *formats, "--file", str(path),
                                     f"{name}-{kind}")  # fmt: skip
        ids[kind] = image["id"]
    cmdline = f"{files.cmdline} {extra_cmdline}".strip()
    more = [arg for k, v in (properties or {}).items() for arg in ("--property", f"{k}={v}")]
    image = cloud.openstack_json(
        "image", "create", "--disk-format", "qcow2", "--container-format", "bare",
        "--file", str(files.qcow2), "--property", f"kernel_id={ids['aki']}",
        "--property", f"ramdisk_id={ids['ari']}", "--property", f"os_command_line={cmdline}",
        *more, name,
    )  # fmt: skip
    return str(image["id"])


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextmanager
def host_bridge(address: str) -> Iterator[str]:
    """A Linux bridge made for the test, up, with ``address`` (CIDR) on it: the host's
    leg on the guests' network. Its name; deleted afterwards."""
    name = f"vfci{uuid.uuid4().hex[:8]}"
    _ip("link", "add", "name", name, "type", "bridge")
    try:
        _ip("addr", "add", address, "dev", name)
        _ip("link", "set", name, "up")
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)


def ssh(key: pathlib.Path, address: str, command: str, timeout: float = 30) -> str:
    """Run ``command`` in the guest at ``address`` as the login user with ``key``
    (batch mode: a password prompt is a failure); its stdout. Raises on failure.
    ``timeout`` is a hang guard scaled for shared cores (a TCG guest under load takes
    tens of seconds to start a Python program)."""
    result = subprocess.run(
        [
            "ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR", f"{LOGIN_USER}@{address}", command,
        ],
        capture_output=True,
        text=True,
        timeout=time_bound(timeout),
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise OSError(f"ssh {address} {command!r}: {result.returncode} {result.stderr.strip()}")
    return result.stdout


def wait_for_ssh(key: pathlib.Path, address: str, timeout: float) -> float:
    """Poll until an SSH login with ``key`` works (bounded by ``timeout`` seconds); the
    seconds it took. Raises AssertionError with the last error when it never does."""
    start = time.monotonic()
    last = "no attempt"
    while time.monotonic() - start < timeout:
        try:
            ssh(key, address, "true")
            return time.monotonic() - start
        except (OSError, subprocess.TimeoutExpired) as error:
            last = str(error)
        time.sleep(3)
    raise AssertionError(f"no SSH login to {address} within {timeout:.0f} s: {last}")


def make_key(directory: pathlib.Path) -> pathlib.Path:
    """A fresh ed25519 key pair in ``directory``; the private key's path (``.pub``
    beside it)."""
    key = directory / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "virtfleet-test", "-f", str(key)],
        check=True,
    )
    return key
