"""A large simulated fleet for the dashboard: the benchmark's deterministic fleet of
plain, vGPU and slice hosts bulk-loaded into the database (compute nodes and
placement, as their agents would have reported them; no agents run for them, so a
fleet of 1,000 or 10,000 hosts is ready in seconds), beside a few simulated hosts with
agents that boot and live-migrate for real (the preloaded hosts are disabled, so
the scheduler picks only these): the sample slice server (``slices``) and
two KVM hosts whose live migrations take :data:`MIGRATION_SECONDS` (``mover-1``,
``mover-2``)."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator

from sqlalchemy import update

from support.clouds import AuthMode, Recipe, sim_cloud
from support.fleet_cloud import FleetCloud
from support.slice_cloud import slice_entries
from virtfleet.bench import fleet as bench_fleet
from virtfleet.bench.load import COMPUTE_NODES, load_fleet
from virtfleet.db.engine import Database

SLICE_HOST = "slices"
MOVERS = ("mover-1", "mover-2")
MIGRATION_SECONDS = 6.0
GPU_ADDRESSES = ("1a", "1b", "3d", "3e", "88", "89", "b1", "b2")


def fleet_text() -> str:
    """The hosts with agents: the slice server and the two movers."""
    gpus = "\n".join(
        f'      - {{address: "0000:{bus}:00.0", numa_node: {i // 4}, product: "A100"}}'
        for i, bus in enumerate(GPU_ADDRESSES)
    )
    return f"""
defaults:
  arch: x86_64
  virt_type: kvm
  libvirt_version: "9.0.0"
  qemu_version: "8.2.0"
  cpus: 32
  memory_mb: 131072
  disk_gb: 2000
hosts:
  - name: mover
    count: 2
    maxphysaddr_bits: 46
    emulators: [aarch64]
    migration_seconds: {MIGRATION_SECONDS}
  - name: {SLICE_HOST}
    cpus: 64
    memory_mb: 524288
    cpu_mode: host-passthrough
    maxphysaddr_bits: 48
    numa:
      - {{cpus: "0-31", memory_mb: 262144}}
      - {{cpus: "32-63", memory_mb: 262144}}
    gpus:
{gpus}
    slices:
{slice_entries()}
"""


AGENT_HOSTS = 3
RECIPE = Recipe(
    fleet=fleet_text(),
    source="dashboard-fleet.yaml",
    conf={"libvirt__live_migration_progress_interval": 0.2},
)


#: Why the preloaded hosts are disabled in a cloud: nothing would answer on them.
NO_AGENT = "simulated: no agent runs for this host"


def preload(data_dir: pathlib.Path, hosts: int, disable: bool = True) -> Database:
    """The benchmark fleet of ``hosts`` hosts in the (new, SQLite) database of
    ``data_dir`` (its providers take the first ids, so before a cloud starts on it);
    ``disable``: their compute services disabled, so the scheduler never picks a
    host without an agent. The database, for the caller to dispose of."""
    db = Database.for_data_dir(data_dir)
    db.upgrade()
    load_fleet(db, bench_fleet.generate(hosts))
    if disable:
        with db.write() as conn:
            conn.execute(update(COMPUTE_NODES).values(status="disabled", disabled_reason=NO_AGENT))
    return db


@contextlib.contextmanager
def dashboard_cloud(
    tmp: pathlib.Path, hosts: int, auth: AuthMode = "noauth"
) -> Iterator[FleetCloud]:
    """An embedded cloud of ``hosts`` hosts in all: ``hosts - 3`` preloaded ones and
    the three with agents; ``auth`` as :class:`support.clouds.Recipe`'s."""
    preload(tmp / "data", hosts - AGENT_HOSTS).dispose()
    with sim_cloud(tmp, RECIPE.but(auth=auth), FleetCloud) as cloud:
        yield cloud
