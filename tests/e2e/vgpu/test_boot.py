"""vGPU hosts report their GPUs; flavors with VGPU boot with an mdev on the allocated
GPU; failures and deletes free it. Real placement, scheduler, conductor and agents
over simulated hosts (no HTTP)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from support.vgpu_cloud import MDEV_TYPE, TRAIT, make_vgpu_cloud
from virtfleet import conf as vconf
from virtfleet.agent.mdev import naming
from virtfleet.agent.mdev.assign import guest_mdev_uuids
from virtfleet.agent.mdev.providers import active_mdevs, gpu_providers
from virtfleet.db import hosts, mdev_claims, servers
from virtfleet.db.engine import Database
from virtfleet.virt.connection import open_connection
from virtfleet.virt.sim import default_fleet
from virtfleet.virt.sim.agentconf import conf_overrides

VGPU_FLAVOR = {"resources:VGPU": "1", f"trait:{TRAIT}": "required"}


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Any]:
    built = make_vgpu_cloud(tmp_path, db)
    yield built
    built.stop()


def gpu_usage(cloud: Any, host: str) -> dict[str, int]:
    """GPU provider name -> VGPU used."""
    used = {}
    for gpu in gpu_providers(cloud.drivers[host].connection, cloud.agents[host].conf, host):
        used[gpu.name] = cloud.placement.provider_usages(gpu.uuid)[1].get("VGPU", 0)
    return used


def test_sample_fleet_vgpu_hosts_report_their_gpus() -> None:
    fleet = default_fleet()
    for host in ("vgpu-1", "vgpu-2"):
        conf = vconf.make_conf(**conf_overrides(fleet.host(host)))  # type: ignore[arg-type]  # option values
        gpus = gpu_providers(open_connection(f"sim://{host}", fleet), conf, host)
        assert [(g.name, dict(g.inventories), set(g.traits)) for g in gpus] == [
            (f"{host}_pci_0000_3b_00_0", {"VGPU": 8}, {TRAIT}),
            (f"{host}_pci_0000_af_00_0", {"VGPU": 8}, {TRAIT}),
        ]


def test_hosts_report_gpu_child_providers(cloud: Any) -> None:
    root = hosts.get_host_by_name(cloud.db, "vgpu-1").uuid
    for device in ("pci_0000_3b_00_0", "pci_0000_af_00_0"):
        uuid = naming.gpu_provider_uuid("vgpu-1", device)
        provider = cloud.placement.get_provider(uuid)
        assert (provider.name, provider.parent_uuid) == (f"vgpu-1_{device}", root)
        inventory = cloud.placement.get_inventories(uuid)[1]["VGPU"]
        assert (inventory.total, inventory.max_unit) == (8, 8)
        assert cloud.placement.get_provider_traits(uuid)[1] == {TRAIT}
    assert "VGPU" not in cloud.placement.get_inventories(root)[1]


def test_boot_attaches_an_mdev_of_the_type_on_the_allocated_gpu(cloud: Any) -> None:
    server = cloud.boot(**VGPU_FLAVOR)
    assert (server.vm_state, server.power_state, server.fault) == ("active", 1, None)
    xml = cloud.conductor.get_domain_xml(server.uuid)
    hostdev = etree.fromstring(xml.encode()).find("devices/hostdev")
    assert hostdev is not None
    assert (hostdev.get("mode"), hostdev.get("type"), hostdev.get("model")) == (
        "subsystem",
        "mdev",
        "vfio-pci",
    )
    (uuid,) = guest_mdev_uuids(xml)
    mdev = next(m for m in active_mdevs(cloud.drivers[server.host].connection) if m.uuid == uuid)
    assert mdev.type_id == MDEV_TYPE
    used = {name: n for name, n in gpu_usage(cloud, server.host).items() if n}
    assert used == {f"{server.host}_{mdev.parent}": 1}  # the mdev sits on the allocated GPU


def test_delete_frees_the_vgpu_and_the_next_guest_reuses_the_mdev(cloud: Any) -> None:
    first = cloud.boot(**VGPU_FLAVOR)
    (mdev,) = guest_mdev_uuids(cloud.conductor.get_domain_xml(first.uuid))
    cloud.conductor.delete_server(first.uuid)
    cloud.conductor.drain(30)
    assert servers.get(cloud.db, first.uuid, read_deleted=True).vm_state == "deleted"
    assert sum(gpu_usage(cloud, first.host).values()) == 0
    second = cloud.boot(**VGPU_FLAVOR)
    assert second.host == first.host
    assert guest_mdev_uuids(cloud.conductor.get_domain_xml(second.uuid)) == (mdev,)
    assert len(active_mdevs(cloud.drivers[first.host].connection)) == 1


def test_a_failed_spawn_removes_the_mdevs_it_created(cloud: Any) -> None:
    for host in ("vgpu-1", "vgpu-2"):
        cloud.occupy(host, 65536 - 256)  # placement does not know: the start fails
    server = cloud.boot(memory_mb=1024, **VGPU_FLAVOR)
    assert server.vm_state == "error"
    assert server.fault is not None
    for host in ("vgpu-1", "vgpu-2"):
        assert active_mdevs(cloud.drivers[host].connection) == ()
        assert sum(gpu_usage(cloud, host).values()) == 0


def test_an_mdev_type_no_host_offers_is_no_valid_host(cloud: Any) -> None:
    server = cloud.boot(**{"resources:VGPU": "1", "trait:CUSTOM_MDEV_NVIDIA_999": "required"})
    assert server.vm_state == "error"
    assert server.fault is not None
    assert all(sum(gpu_usage(cloud, h).values()) == 0 for h in ("vgpu-1", "vgpu-2"))


def test_a_boot_never_takes_an_mdev_claimed_by_a_migration(cloud: Any) -> None:
    first = cloud.boot(**VGPU_FLAVOR)
    (mdev,) = guest_mdev_uuids(cloud.conductor.get_domain_xml(first.uuid))
    cloud.conductor.delete_server(first.uuid)
    cloud.conductor.drain(30)
    mdev_claims.claim(cloud.db, first.host, "incoming", "m1", {"src": mdev}, {"src": MDEV_TYPE})
    second = cloud.boot(**VGPU_FLAVOR)
    assert guest_mdev_uuids(cloud.conductor.get_domain_xml(second.uuid)) != (mdev,)
