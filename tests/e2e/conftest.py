"""A running `virtfleet up` (subprocess) and the real `openstack` CLI against it."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

VENV_BIN = pathlib.Path(sys.executable).parent

SMALL_FLEET = """
defaults:
  libvirt_version: 9.0.0
  qemu_version: 8.2.0
  disk_gb: 200
hosts:
  - name: kvm-a
    arch: x86_64
    virt_type: kvm
    emulators: [aarch64, s390x]
    cpus: 8
    memory_mb: 16384
    maxphysaddr_bits: 46
  - name: kvm-b
    arch: x86_64
    virt_type: kvm
    emulators: [aarch64]
    cpus: 4
    memory_mb: 8192
    maxphysaddr_bits: 39
  - name: arm-a
    arch: aarch64
    virt_type: kvm
    emulators: [x86_64]
    cpus: 8
    memory_mb: 16384
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cloud:
    """A `virtfleet up` process and how to reach it."""

    process: subprocess.Popen[str]
    endpoint: str
    clouds_yaml: pathlib.Path
    data_dir: pathlib.Path
    log: pathlib.Path

    def openstack(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the real openstack CLI against this cloud."""
        env = {
            **os.environ,
            "OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml),
            "OS_CLOUD": "virtfleet",
        }
        result = subprocess.run(
            [str(VENV_BIN / "openstack"), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"openstack {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def openstack_json(self, *args: str) -> Any:
        return json.loads(self.openstack(*args, "-f", "json").stdout)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_cloud(tmp: pathlib.Path, fleet_text: str | None = SMALL_FLEET, *extra: str) -> Cloud:
    """`virtfleet up` on ``fleet_text`` (None: no simulated hosts) plus ``extra`` args."""
    fleet_args: list[str] = []
    if fleet_text is not None:
        fleet = tmp / "fleet.yaml"
        fleet.write_text(fleet_text)
        fleet_args = ["--fleet", str(fleet)]
    port = free_port()
    log = tmp / "virtfleet.log"
    cloud = Cloud(
        process=subprocess.Popen(
            [
                str(VENV_BIN / "virtfleet"),
                "-v",
                "up",
                *fleet_args,
                "--listen",
                f"127.0.0.1:{port}",
                "--data-dir",
                str(tmp / "data"),
                "--clouds-yaml",
                str(tmp / "clouds.yaml"),
                *extra,
            ],
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        ),
        endpoint=f"http://127.0.0.1:{port}",
        clouds_yaml=tmp / "clouds.yaml",
        data_dir=tmp / "data",
        log=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if cloud.process.poll() is not None:
            raise AssertionError(f"virtfleet up exited early:\n{log.read_text()}")
        try:
            urllib.request.urlopen(cloud.endpoint + "/compute/v2.1", timeout=2).read()
            if cloud.clouds_yaml.exists():
                return cloud
        except OSError:
            pass
        time.sleep(0.2)
    cloud.stop()
    raise AssertionError(f"virtfleet up did not come up:\n{log.read_text()}")


StartCloud = Callable[..., Cloud]


@pytest.fixture
def cloud_starter() -> StartCloud:
    """Start further clouds in a test (e.g. to restart on the same data dir)."""
    return start_cloud


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    running = start_cloud(tmp_path_factory.mktemp("cloud"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def cloud_starter_module() -> StartCloud:
    """Module-scoped twin of ``cloud_starter``."""
    return start_cloud
