"""GPU providers discovered from a simulated vGPU host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from virtfleet import conf as vconf
from virtfleet.agent.mdev.providers import active_mdevs, gpu_providers
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.mdev import mdev_create_xml
from virtfleet.virt.sim import Fleet, load_fleet

FLEET = """
hosts:
  - name: g
    arch: x86_64
    cpus: 8
    memory_mb: 16384
    gpus:
      - address: "0000:3b:00.0"
        mdev_types:
          nvidia-222: {available: 8}
          nvidia-223: {available: 4}
      - address: "0000:af:00.0"
        mdev_types:
          nvidia-223: {available: 4}
      - {address: "0000:d8:00.0"}
"""


@pytest.fixture
def conn() -> Iterator[object]:
    fleet: Fleet = load_fleet(FLEET, source="gpu.yaml")
    yield open_connection("sim://g", fleet)


def test_one_provider_per_gpu_serving_an_enabled_type(conn: object) -> None:
    conf = vconf.make_conf(devices__enabled_mdev_types=["nvidia-222"])
    (gpu,) = gpu_providers(conn, conf, "g")
    assert (gpu.name, gpu.pci_address, gpu.type_id) == (
        "g_pci_0000_3b_00_0",
        "0000:3b:00.0",
        "nvidia-222",
    )
    assert gpu.inventories == {"VGPU": 8}
    assert gpu.traits == {"CUSTOM_MDEV_NVIDIA_222"}
    assert gpu.parent_name is None


def test_no_enabled_type_reports_no_gpu(conn: object) -> None:
    assert gpu_providers(conn, vconf.make_conf(), "g") == []


def test_each_gpu_serves_one_type(conn: object) -> None:
    conf = vconf.make_conf(devices__enabled_mdev_types=["nvidia-223", "nvidia-222"])
    served = {g.pci_address: (g.type_id, g.total) for g in gpu_providers(conn, conf, "g")}
    assert served == {"0000:3b:00.0": ("nvidia-223", 4), "0000:af:00.0": ("nvidia-223", 4)}


def test_existing_mdevs_count_in_the_total(conn: object) -> None:
    conf = vconf.make_conf(devices__enabled_mdev_types=["nvidia-222"])
    for uuid in ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"):
        conn.nodeDeviceCreateXML(mdev_create_xml("pci_0000_3b_00_0", "nvidia-222", uuid), 0)  # type: ignore[attr-defined]
    assert len(active_mdevs(conn)) == 2
    (gpu,) = gpu_providers(conn, conf, "g")
    assert gpu.total == 8  # 6 still creatable + 2 that exist
