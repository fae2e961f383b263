"""A cloud of two vGPU hosts (as the sample fleet's) and an old one: the harness's
recipe and view on a vGPU fleet, mdev types enabled on every agent; agents share the
control plane's database for mdev claims unless they keep them locally."""

from __future__ import annotations

import pathlib
from typing import Any

from support.control import ControlCloud, control_cloud
from support.harness import RECIPE, Cloud
from virtfleet.agent.manager import ComputeAgent
from virtfleet.db.engine import Database

MDEV_TYPE = "nvidia-222"
TRAIT = "CUSTOM_MDEV_NVIDIA_222"

GPUS = """
    gpus:
      - address: "0000:3b:00.0"
        numa_node: 0
        mdev_types:
          nvidia-222: {{available: {n}, name: "GRID T4-2Q", device_api: vfio-pci}}
      - address: "0000:af:00.0"
        numa_node: 0
        mdev_types:
          nvidia-222: {{available: {n}, name: "GRID T4-2Q", device_api: vfio-pci}}
"""


def fleet_text(per_gpu: int = 8, old_gpu_host: bool = False, old_memory_mb: int = 32768) -> str:
    """vgpu-1 and vgpu-2 (two GPUs each, ``per_gpu`` mdevs per GPU), optionally an
    old vGPU host (libvirt 8.5.0, QEMU 6.2.0) with ``old_memory_mb`` (more than the
    others' 65536 makes boots land there)."""
    text = """
defaults:
  arch: x86_64
  virt_type: kvm
  libvirt_version: "9.0.0"
  qemu_version: "8.2.0"
  cpus: 32
  memory_mb: 65536
  disk_gb: 500
hosts:
  - name: vgpu
    count: 2
""" + GPUS.format(n=per_gpu)
    if old_gpu_host:
        text += f"""
  - name: oldgpu
    memory_mb: {old_memory_mb}
    libvirt_version: "8.5.0"
    qemu_version: "6.2.0"
""" + GPUS.format(n=per_gpu)
    return text


def one_mdev_fleet(memory_mb: dict[str, int]) -> str:
    """Hosts (name -> memory MiB, current libvirt and QEMU) with one GPU each that
    offers a single ``nvidia-222`` mdev."""
    text = """
defaults: {arch: x86_64, virt_type: kvm, libvirt_version: "9.0.0", qemu_version: "8.2.0",
           cpus: 32, disk_gb: 500}
hosts:
"""
    for name, memory in memory_mb.items():
        text += f"""  - {{name: {name}, memory_mb: {memory}, gpus: [{{address: "0000:3b:00.0",
     mdev_types: {{{MDEV_TYPE}: {{available: 1}}}}}}]}}
"""
    return text


def make_vgpu_cloud(
    tmp_path: pathlib.Path, db: Database, text: str | None = None, local_claims: bool = False
) -> Cloud:
    """The harness cloud on :func:`fleet_text` (or ``text``) with mdev types enabled on
    every agent; with ``local_claims`` each agent keeps its claims in its own data
    directory, as agents in distributed mode do."""
    recipe = RECIPE.but(fleet=text or fleet_text(), source="vgpu-fleet.yaml")
    return control_cloud(
        tmp_path,
        db,
        recipe,
        Cloud,
        local_claims=local_claims,
        devices__enabled_mdev_types=[MDEV_TYPE],
    )


def restart_agent(
    cloud: ControlCloud, name: str, types: tuple[str, ...] = (MDEV_TYPE,), **overrides: Any
) -> ComputeAgent:
    """Stop ``name``'s agent and start a new one (new driver, same host and claims),
    offering the mdev ``types``."""
    return cloud.restart_agent(name, devices__enabled_mdev_types=list(types), **overrides)
