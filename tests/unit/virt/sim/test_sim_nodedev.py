"""Node devices: PCI GPUs with mdev types, mdev creation/definition, and guests using them."""

from __future__ import annotations

from collections.abc import Callable

import libvirt
import pytest
from lxml import etree

from virtfleet.virt.sim import SimConnection

from .conftest import domain_xml, mdev_device_xml, mdev_hostdev, pci_hostdev

GPU = "pci_0000_3b_00_0"
UUID = "3627463d-b7f0-4fea-b468-f1da537d301b"
MDEV = "mdev_3627463d_b7f0_4fea_b468_f1da537d301b_0000_3b_00_0"  # libvirt >= 7.7 naming


@pytest.fixture
def vgpu(connect: Callable[[str], SimConnection]) -> SimConnection:
    return connect("vgpu-1")


def available(conn: SimConnection, parent: str = GPU) -> int:
    xml = etree.fromstring(conn.nodeDeviceLookupByName(parent).XMLDesc(0).encode())
    return int(xml.findtext("capability/capability[@type='mdev_types']/type/availableInstances"))


def test_listing_by_capability(vgpu: SimConnection) -> None:
    names = lambda flags: [d.name() for d in vgpu.listAllDevices(flags)]  # noqa: E731
    assert names(0) == ["computer", GPU, "pci_0000_af_00_0"]
    assert names(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES) == [GPU, "pci_0000_af_00_0"]
    assert names(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV) == []
    vgpu.nodeDeviceCreateXML(mdev_device_xml(GPU, uuid=UUID), 0)
    assert names(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV) == [MDEV]
    assert names(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE) == []
    assert vgpu.listDevices("mdev_types", 0) == [GPU, "pci_0000_af_00_0"]
    assert vgpu.listDevices("mdev", 0) == [MDEV]


def test_gpu_xml_is_shaped_like_libvirts(vgpu: SimConnection) -> None:
    device = vgpu.nodeDeviceLookupByName(GPU)
    assert device.listCaps() == ["pci", "mdev_types"]
    xml = etree.fromstring(device.XMLDesc(0).encode())
    assert xml.findtext("name") == GPU and xml.findtext("parent") == "computer"
    cap = xml.find("capability[@type='pci']")
    assert [cap.findtext(t) for t in ("domain", "bus", "slot", "function")] == ["0", "59", "0", "0"]
    mdev_type = cap.find("capability[@type='mdev_types']/type")
    assert mdev_type.get("id") == "nvidia-222"
    assert mdev_type.findtext("name") == "GRID T4-2Q"
    assert mdev_type.findtext("deviceAPI") == "vfio-pci"
    assert mdev_type.findtext("availableInstances") == "8"
    assert cap.find("numa").get("node") == "0"
    assert vgpu.nodeDeviceLookupByName("computer").listCaps() == ["system"]


def test_slice_host_gpus_have_no_mdev_types(connect: Callable[[str], SimConnection]) -> None:
    conn = connect("slice-1")
    assert conn.nodeDeviceLookupByName("pci_0000_88_00_0").listCaps() == ["pci"]
    assert conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES) == []
    assert len(conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV)) == 8


def test_create_mdev_uses_an_instance_and_destroy_returns_it(vgpu: SimConnection) -> None:
    mdev = vgpu.nodeDeviceCreateXML(mdev_device_xml(GPU, uuid=UUID), 0)
    assert mdev.name() == MDEV and mdev.listCaps() == ["mdev"]
    xml = etree.fromstring(mdev.XMLDesc(0).encode())
    assert xml.findtext("parent") == GPU
    assert xml.find("capability[@type='mdev']/type").get("id") == "nvidia-222"
    assert xml.findtext("capability[@type='mdev']/uuid") == UUID
    assert available(vgpu) == 7
    generated = vgpu.nodeDeviceCreateXML(mdev_device_xml(GPU), 0)
    assert generated.name().startswith("mdev_") and available(vgpu) == 6
    mdev.destroy()
    assert available(vgpu) == 7
    with pytest.raises(libvirt.libvirtError) as excinfo:
        vgpu.nodeDeviceLookupByName(MDEV)  # transient: gone once destroyed
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_NO_NODE_DEVICE


def test_defined_mdev_is_inactive_until_created(vgpu: SimConnection) -> None:
    mdev = vgpu.nodeDeviceDefineXML(mdev_device_xml(GPU, uuid=UUID), 0)
    assert mdev.isActive() == 0 and available(vgpu) == 8
    inactive = vgpu.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE)
    assert [d.name() for d in inactive] == [MDEV]
    mdev.create()
    assert mdev.isActive() == 1 and available(vgpu) == 7
    with pytest.raises(libvirt.libvirtError) as excinfo:
        mdev.create()
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    mdev.destroy()
    assert mdev.isActive() == 0  # persistent: still defined
    mdev.undefine()
    with pytest.raises(libvirt.libvirtError) as excinfo:
        mdev.XMLDesc(0)
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_NO_NODE_DEVICE


def test_instances_run_out(vgpu: SimConnection) -> None:
    for _ in range(8):
        vgpu.nodeDeviceCreateXML(mdev_device_xml(GPU), 0)
    assert available(vgpu) == 0
    with pytest.raises(libvirt.libvirtError, match="no available instances") as excinfo:
        vgpu.nodeDeviceCreateXML(mdev_device_xml(GPU), 0)
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
    vgpu.nodeDeviceCreateXML(mdev_device_xml("pci_0000_af_00_0"), 0)  # the other GPU has room


@pytest.mark.parametrize(
    ("xml", "code", "message"),
    [
        (
            mdev_device_xml("pci_0000_99_00_0"),
            libvirt.VIR_ERR_NO_NODE_DEVICE,
            "no node device with matching name 'pci_0000_99_00_0'",
        ),
        (
            mdev_device_xml(GPU, type_id="nvidia-999"),
            libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
            "does not support mediated device type 'nvidia-999'",
        ),
        (mdev_device_xml(GPU, uuid="zzz"), libvirt.VIR_ERR_XML_ERROR, "Unable to parse uuid"),
        (
            "<device><parent>computer</parent><capability type='scsi_host'/></device>",
            libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
            "only mediated devices",
        ),
        (
            "<device><capability type='mdev'><type id='nvidia-222'/></capability></device>",
            libvirt.VIR_ERR_XML_ERROR,
            "missing parent device",
        ),
        ("<device>", libvirt.VIR_ERR_XML_DETAIL, "(device_definition):1:"),
    ],
)
@pytest.mark.parametrize("define", [False, True])
def test_mdev_creation_refusals(
    xml: str, code: int, message: str, define: bool, vgpu: SimConnection
) -> None:
    create = vgpu.nodeDeviceDefineXML if define else vgpu.nodeDeviceCreateXML
    with pytest.raises(libvirt.libvirtError) as excinfo:
        create(xml, 0)
    assert excinfo.value.get_error_code() == code
    assert message in str(excinfo.value)


def test_duplicate_mdev_uuid_is_refused(vgpu: SimConnection) -> None:
    vgpu.nodeDeviceCreateXML(mdev_device_xml(GPU, uuid=UUID), 0)
    with pytest.raises(libvirt.libvirtError, match="already exists") as excinfo:
        vgpu.nodeDeviceCreateXML(mdev_device_xml("pci_0000_af_00_0", uuid=UUID), 0)
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED


def test_guest_with_mdev_starts_and_holds_it(vgpu: SimConnection) -> None:
    vgpu.nodeDeviceCreateXML(mdev_device_xml(GPU, uuid=UUID), 0)
    first = vgpu.defineXML(domain_xml("first", devices=mdev_hostdev(UUID)))
    first.create()
    second = vgpu.defineXML(domain_xml("second", devices=mdev_hostdev(UUID)))
    with pytest.raises(libvirt.libvirtError, match="is in use by driver QEMU, domain first") as e1:
        second.create()
    assert e1.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    mdev = vgpu.nodeDeviceLookupByName(MDEV)
    with pytest.raises(libvirt.libvirtError, match="in use by domain first") as e2:
        mdev.destroy()
    assert e2.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
    first.destroy()
    second.create()


def test_inactive_mdev_cannot_back_a_guest(vgpu: SimConnection) -> None:
    vgpu.nodeDeviceDefineXML(mdev_device_xml(GPU, uuid=UUID), 0)
    dom = vgpu.defineXML(domain_xml("g", devices=mdev_hostdev(UUID)))
    with pytest.raises(libvirt.libvirtError) as excinfo:
        dom.create()
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR


def test_pci_passthrough_is_exclusive(connect: Callable[[str], SimConnection]) -> None:
    conn = connect("slice-1")
    a = conn.defineXML(domain_xml("a", devices=pci_hostdev("0x1a")))
    b = conn.defineXML(domain_xml("b", devices=pci_hostdev("0x1a") + pci_hostdev("0x1b")))
    a.create()
    with pytest.raises(libvirt.libvirtError, match=r"PCI device 0000:1a:00\.0 is in use") as exc:
        b.create()
    assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    a.destroy()
    b.create()


def test_old_libvirt_names_mdevs_by_uuid_alone() -> None:
    from virtfleet.virt.sim import hypervisor_for, load_fleet

    fleet = load_fleet(
        """
        hosts:
          - name: old
            arch: x86_64
            libvirt_version: "7.6.0"
            gpus: [{address: "0000:3b:00.0", mdev_types: {nvidia-222: {available: 2}}}]
        """
    )
    conn = SimConnection(hypervisor_for(fleet, "old"))
    mdev = conn.nodeDeviceCreateXML(mdev_device_xml(GPU, uuid=UUID), 0)
    assert mdev.name() == "mdev_3627463d_b7f0_4fea_b468_f1da537d301b"


def test_new_libvirt_does_not_find_mdevs_by_the_legacy_name(vgpu: SimConnection) -> None:
    vgpu.nodeDeviceCreateXML(mdev_device_xml(GPU, uuid=UUID), 0)
    with pytest.raises(libvirt.libvirtError) as excinfo:
        vgpu.nodeDeviceLookupByName("mdev_3627463d_b7f0_4fea_b468_f1da537d301b")
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_NO_NODE_DEVICE
