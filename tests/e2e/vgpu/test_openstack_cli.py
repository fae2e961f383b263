"""The whole stack over HTTP on an embedded cloud of simulated vGPU hosts: a flavor
with VGPU and the type trait through the Compute API, boot, then
``openstack server migrate --live-migration --host b --wait``."""

from __future__ import annotations

import pathlib

import pytest

from support.fleets import kvm_fleet
from support.migration_cloud import RECIPE, MigrationCloud
from support.plugin import StartSimCloud
from virtfleet.agent.mdev import naming
from virtfleet.agent.mdev.assign import guest_mdev_uuids

GPU = """
    gpus:
      - address: "0000:3b:00.0"
        mdev_types:
          nvidia-222: {available: 4, name: "GRID T4-2Q", device_api: vfio-pci}
    config:
      devices: {enabled_mdev_types: [nvidia-222]}
"""
FLEET = kvm_fleet(f"""\
  - name: a
    memory_mb: 65536{GPU}
  - name: b
    memory_mb: 32768{GPU}
  - name: c
    memory_mb: 16384{GPU}
""")
CLI_VERSION = ("--os-compute-api-version", "2.80")


@pytest.fixture(scope="module")
def cloud(start_sim_cloud: StartSimCloud) -> MigrationCloud:
    return start_sim_cloud(RECIPE.but(fleet=FLEET), view=MigrationCloud)


def vgpu_usage(cloud: MigrationCloud, host: str) -> int:
    provider = naming.gpu_provider_uuid(host, "pci_0000_3b_00_0")
    return cloud.control.placement.provider_usages(provider)[1].get("VGPU", 0)


def test_vgpu_guest_boots_and_live_migrates_through_the_cli(
    cloud: MigrationCloud, tmp_path: pathlib.Path
) -> None:
    specs = {"resources:VGPU": "1", "trait:CUSTOM_MDEV_NVIDIA_222": "required"}
    assert cloud.flavor("vgpu", ram=1024, specs=specs).status == 200
    booted = cloud.boot("vgpu-guest", "vgpu", cloud.image("img"))
    assert (booted["status"], booted["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "a")
    server = str(booted["id"])
    (before,) = guest_mdev_uuids(cloud.domain_xml(server))
    assert [vgpu_usage(cloud, h) for h in "abc"] == [1, 0, 0]

    result = cloud.cli.run(
        *CLI_VERSION, "server", "migrate", "--live-migration", "--host", "b", "--wait", server
    )
    assert "Complete" in result.stdout, result.stdout + result.stderr
    shown = cloud.cli.json(*CLI_VERSION, "server", "show", server)
    assert (shown["OS-EXT-SRV-ATTR:host"], shown["status"]) == ("b", "ACTIVE")
    (after,) = guest_mdev_uuids(cloud.domain_xml(server))
    assert after != before
    assert [vgpu_usage(cloud, h) for h in "abc"] == [0, 1, 0]
    assert server not in cloud.domains("a") and server in cloud.running("b")
    # embedded agents keep their claims in their own store (the control plane's
    # database gets the table with the next alembic migration)
    for agent in cloud.embedded.agents:
        assert agent.vgpus is not None and agent.vgpus.store.list() == []
