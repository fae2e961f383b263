"""Mediated device discovery against libvirt's test driver and the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt import config, mdev

TEST_DRIVER = "test:///work/shared/libvirt/testdriver/mdev-node.xml"


@pytest.fixture
def test_driver() -> Iterator[Any]:
    conn = libvirt.open(TEST_DRIVER)  # in-process: needs no libvirtd
    yield conn
    conn.close()


def test_parents_from_the_libvirt_test_driver(test_driver: Any) -> None:
    (parent,) = mdev.mdev_parents(test_driver)
    assert parent.device == "pci_0000_02_10_7"
    assert parent.pci_address == "0000:02:10.7"
    assert parent.types == (
        mdev.MdevTypeInfo("nvidia-222", "GRID T4-1B", "vfio-pci", 15),
        mdev.MdevTypeInfo("nvidia-223", "GRID T4-2B", "vfio-pci", 8),
    )


def test_enabled_types_filter_parents(test_driver: Any) -> None:
    (parent,) = mdev.mdev_parents(test_driver, enabled_types={"nvidia-223"})
    assert [t.type_id for t in parent.types] == ["nvidia-223"]
    assert mdev.mdev_parents(test_driver, enabled_types={"nvidia-999"}) == ()


def test_existing_mdevs_from_the_libvirt_test_driver(test_driver: Any) -> None:
    assert mdev.mediated_devices(test_driver) == (
        mdev.MediatedDevice(
            device="mdev_3627463d_b7f0_4fea_b468_f1da537d301b",
            uuid="3627463d-b7f0-4fea-b468-f1da537d301b",
            type_id="nvidia-222",
            parent="pci_0000_02_10_7",
        ),
    )


def test_simulated_gpu_host() -> None:
    conn = open_connection("sim://vgpu-1")
    parents = mdev.mdev_parents(conn)
    assert [p.pci_address for p in parents] == sorted(p.pci_address for p in parents)
    assert parents and all(t.available > 0 for p in parents for t in p.types)
    assert mdev.mediated_devices(conn) == ()


def test_create_xml() -> None:
    xml = mdev.mdev_create_xml("pci_0000_3b_00_0", "nvidia-222", "a-b-c")
    device = config.NodeDevice.parse(xml)
    assert device.parent == "pci_0000_3b_00_0"
    cap = device.capability("mdev")
    assert cap is not None and (cap.mdev_type, cap.uuid) == ("nvidia-222", "a-b-c")
    assert '<type id="nvidia-222"/>' in xml


def test_created_mdev_is_listed_and_counted_on_the_simulator() -> None:
    conn = open_connection("sim://vgpu-2")
    parent = mdev.mdev_parents(conn)[0]
    type_id, before = parent.types[0].type_id, parent.types[0].available
    uuid = "5a0c1f3e-0000-4000-8000-00000000d001"
    device = conn.nodeDeviceCreateXML(mdev.mdev_create_xml(parent.device, type_id, uuid), 0)
    try:
        assert [(m.uuid, m.type_id, m.parent) for m in mdev.mediated_devices(conn)] == [
            (uuid, type_id, parent.device)
        ]
        assert mdev.mdev_parents(conn)[0].types[0].available == before - 1
    finally:
        device.destroy()
    assert mdev.mediated_devices(conn) == ()
