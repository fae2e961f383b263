"""Crash consistency of the embedded default: ``kill -9`` of ``virtfleet up`` at 5
random moments during a boot storm, deletes and a live migration on simulated hosts
(whose guests outlive the process, as real ones outlive virtfleet). After each
restart the cloud recovers on its own, and :func:`virtfleet.conductor.audit.audit`
finds every server ACTIVE or ERROR with a reason and no allocation, mdev claim,
domain or instance directory leaked. 127.0.0.1 only."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import pathlib
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from virtfleet.conductor.audit import audit
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService

pytestmark = pytest.mark.slow

FLEET = """\
defaults: {arch: x86_64, virt_type: kvm, cpus: 64, memory_mb: 262144, disk_gb: 4000}
hosts:
  - {name: crash-a}
  - {name: crash-b}
  - {name: crash-c}
"""
CONFIG = """\
[DEFAULT]
rpc_response_timeout = 3

[api]
# Crash consistency, not identity, is under test: the explicit unauthenticated mode.
auth_strategy = noauth

[conductor]
heartbeat_interval = 0.5
dead_after = 2
"""
KILLS = 5
BOOTS_PER_STORM = 10
SETTLE_SECONDS = 90
COMPUTE = {"OpenStack-API-Version": "compute 2.60"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Cloud:
    """``virtfleet up`` as a child process on one data directory."""

    def __init__(self, tmp: pathlib.Path) -> None:
        self.tmp = tmp
        self.data_dir = tmp / "data"
        (tmp / "fleet.yaml").write_text(FLEET)
        (tmp / "virtfleet.conf").write_text(CONFIG)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            str(pathlib.Path(sys.executable).parent / "virtfleet"),
            "up",
            "--fleet", str(self.tmp / "fleet.yaml"),
            "--config", str(self.tmp / "virtfleet.conf"),
            "--data-dir", str(self.data_dir),
            "--listen", f"127.0.0.1:{self.port}",
            "--clouds-yaml", str(self.tmp / "clouds.yaml"),
        ]  # fmt: skip
        log = (self.tmp / "up.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.tmp / "up.log").read_text()[-2000:]
            try:
                if requests.get(f"{self.url}/", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError("virtfleet up did not answer in 60 s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def api(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", json=body, headers=COMPUTE, timeout=30)

    def servers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api("GET", "/compute/v2.1/servers/detail").json()[
            "servers"
        ]
        return found

    def domains(self) -> dict[str, set[str]]:
        """Host -> uuids of the domains its simulated hypervisor holds."""
        held = {}
        for state_file in (self.data_dir / "sim-hosts").glob("*.json"):
            entries = json.loads(state_file.read_text())["domains"]
            held[state_file.stem] = {
                re.search(r"<uuid>([^<]+)</uuid>", entry["xml"])[1]  # type: ignore[index]
                for entry in entries
            }
        return held

    def instance_dirs(self) -> list[str]:
        """The guests' directories (not the hosts' image cache, ``_base``)."""
        root = self.data_dir / "instances"
        if not root.exists():
            return []
        return [p.name for p in root.iterdir() if p.is_dir() and p.name != "_base"]


@pytest.fixture
def cloud(tmp_path: pathlib.Path) -> Iterator[Cloud]:
    running = Cloud(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def seed(cloud: Cloud) -> tuple[str, str]:
    flavor = cloud.api(
        "POST",
        "/compute/v2.1/flavors",
        {"flavor": {"name": "c", "ram": 512, "vcpus": 1, "disk": 1}},
    )
    assert flavor.status_code == 200, flavor.text
    image = requests.post(
        f"{cloud.url}/image/v2/images",
        json={"name": "c", "disk_format": "raw", "container_format": "bare"},
        timeout=30,
    ).json()
    upload = requests.put(
        f"{cloud.url}/image/v2/images/{image['id']}/file",
        data=b"x" * 4096,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert upload.status_code == 204, upload.text
    return flavor.json()["flavor"]["id"], image["id"]


def storm(cloud: Cloud, flavor: str, image: str, rng: random.Random) -> None:
    """Boots, deletes of ACTIVE servers and one live migration, all at once; errors
    (the process is killed under them) are expected."""
    active = [s["id"] for s in cloud.servers() if s["status"] == "ACTIVE"]
    jobs: list[tuple[str, str, Any]] = [
        ("POST", "/compute/v2.1/servers",
         {"server": {"name": f"s{rng.randrange(10**6)}", "flavorRef": flavor, "imageRef": image}})
        for _ in range(BOOTS_PER_STORM)
    ]  # fmt: skip
    for uuid in rng.sample(active, min(3, len(active))):
        jobs.append(("DELETE", f"/compute/v2.1/servers/{uuid}", None))
    if active:
        migrating = rng.choice(active)
        jobs.append(
            (
                "POST",
                f"/compute/v2.1/servers/{migrating}/action",
                {"os-migrateLive": {"host": None, "block_migration": "auto"}},
            )
        )
    rng.shuffle(jobs)

    def send(job: tuple[str, str, Any]) -> None:
        with contextlib.suppress(requests.RequestException):
            cloud.api(*job)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)
    for job in jobs:
        pool.submit(send, job)
    pool.shutdown(wait=False)


def settled(cloud: Cloud) -> None:
    """Wait until recovery is done: no server building or with a task, no migration
    under way."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        busy = [
            s for s in cloud.servers()
            if s["status"] not in ("ACTIVE", "ERROR") or s.get("OS-EXT-STS:task_state")
        ]  # fmt: skip
        migrations = cloud.api("GET", "/compute/v2.1/os-migrations").json()["migrations"]
        running = [m for m in migrations if m["status"] in ("queued", "preparing", "running")]
        if not busy and not running:
            return
        assert time.monotonic() < deadline, f"not settled: {busy} {running}"
        time.sleep(0.5)


def test_kill_9_at_random_moments_leaves_a_consistent_cloud(cloud: Cloud) -> None:
    rng = random.Random(21)
    cloud.start()
    flavor, image = seed(cloud)
    report = []
    for kill in range(1, KILLS + 1):
        storm(cloud, flavor, image, rng)
        time.sleep(rng.uniform(0.05, 1.5))
        cloud.kill()
        cloud.start()
        settled(cloud)
        db = Database.for_data_dir(cloud.data_dir)
        try:
            problems = audit(
                db, PlacementService(db), cloud.domains(), instance_dirs=cloud.instance_dirs()
            )
        finally:
            db.dispose()
        statuses = [s["status"] for s in cloud.servers()]
        report.append((kill, statuses.count("ACTIVE"), statuses.count("ERROR")))
        assert not problems, f"after kill {kill}:\n" + "\n".join(problems)
        errors = [s for s in cloud.servers() if s["status"] == "ERROR"]
        for server in errors:
            assert server.get("fault", {}).get("message"), server
    print("kill, ACTIVE, ERROR:", report)
