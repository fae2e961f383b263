"""OpenStack Placement side by side: its own virtualenv, its own SQLite database and
a server subprocess (``placement_server.py``) per fleet.

The virtualenv is ``<cache>/placement-venv`` (``python3 -m venv``, then
``pip install openstack-placement``); it is made once and reused. A query that runs
past the time limit is abandoned by killing the server (its work cannot be
interrupted otherwise) and starting a new one on the same database.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
from typing import Any

from virtfleet.bench.fleet import Fleet
from virtfleet.bench.stats import rss_mb

PACKAGE = "openstack-placement"
SERVER_SCRIPT = pathlib.Path(__file__).with_name("placement_server.py")


class PlacementUnavailableError(Exception):
    """OpenStack Placement could not be installed or started."""


def default_cache_dir() -> pathlib.Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(base) / "virtfleet"


def venv_python(cache_dir: pathlib.Path) -> pathlib.Path:
    return cache_dir / "placement-venv" / "bin" / "python"


def ensure_venv(cache_dir: pathlib.Path, log: Any = sys.stderr) -> pathlib.Path:
    """The virtualenv's python, creating the venv and installing Placement if needed."""
    python = venv_python(cache_dir)
    if python.exists() and _has_placement(python):
        return python
    cache_dir.mkdir(parents=True, exist_ok=True)
    venv = python.parent.parent
    print(f"installing {PACKAGE} into {venv} ...", file=log, flush=True)
    steps = [
        ["python3", "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", PACKAGE],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PlacementUnavailableError(
                f"{' '.join(step)} failed ({done.returncode}): {done.stderr.strip()[-800:]}"
            )
    if not _has_placement(python):
        raise PlacementUnavailableError(f"{PACKAGE} is not importable in {venv}")
    return python


def _has_placement(python: pathlib.Path) -> bool:
    probe = subprocess.run(
        [str(python), "-c", "import placement.deploy"], capture_output=True, check=False
    )
    return probe.returncode == 0


def placement_version(python: pathlib.Path) -> str:
    done = subprocess.run(
        [str(python), "-m", "pip", "show", PACKAGE], capture_output=True, text=True, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def fleet_document(fleet: Fleet) -> dict[str, Any]:
    """The fleet as the JSON ``placement_server.py load`` reads."""
    return {
        "custom_resource_classes": list(fleet.custom_resource_classes),
        "custom_traits": list(fleet.custom_traits),
        "providers": [
            {
                "uuid": p.uuid,
                "name": p.name,
                "parent_uuid": p.parent_uuid,
                "inventories": {rc: inv.as_dict() for rc, inv in p.inventories.items()},
                "traits": sorted(p.traits),
            }
            for p in fleet.providers()
        ],
        "consumers": [
            {
                "uuid": c.uuid,
                "project_id": c.project_id,
                "user_id": c.user_id,
                "allocations": {rp: dict(res) for rp, res in c.allocations.items()},
            }
            for c in fleet.consumers()
        ],
    }


def load(
    python: pathlib.Path, db_path: pathlib.Path, fleet: Fleet, through_api: bool = False
) -> dict[str, Any]:
    """Create Placement's database at ``db_path`` holding ``fleet``: in bulk SQL, or
    ``through_api`` with one Placement API request per write (slow)."""
    fleet_file = db_path.with_suffix(".fleet.json")
    fleet_file.write_text(json.dumps(fleet_document(fleet)))
    mode = "load-api" if through_api else "load"
    done = subprocess.run(
        [str(python), "-I", str(SERVER_SCRIPT), mode, str(db_path), str(fleet_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    fleet_file.unlink()
    if done.returncode != 0:
        raise PlacementUnavailableError(f"loading the fleet failed: {done.stderr.strip()[-1500:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def compare_databases(
    python: pathlib.Path, first: pathlib.Path, second: pathlib.Path
) -> dict[str, Any]:
    """``{"same": bool, "differences": {...}}`` of two Placement databases' fleets."""
    done = subprocess.run(
        [str(python), "-I", str(SERVER_SCRIPT), "compare", str(first), str(second)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class Server:
    """A Placement API server subprocess on ``db_path``; restartable."""

    def __init__(self, python: pathlib.Path, db_path: pathlib.Path) -> None:
        self._argv = [str(python), "-I", str(SERVER_SCRIPT), "serve", str(db_path)]
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.restarts = 0

    def start(self) -> str:
        process = subprocess.Popen(
            self._argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._process = process
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            self.stop()
            raise PlacementUnavailableError("the Placement server did not start")
        self.base_url = f"http://127.0.0.1:{line[1]}"
        return self.base_url

    def restart(self) -> str:
        self.stop()
        self.restarts += 1
        return self.start()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def rss_mb(self) -> float | None:
        """The server's resident memory in MiB (Linux), None when unknown."""
        return None if self._process is None else rss_mb(self._process.pid)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
