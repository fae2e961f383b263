"""Contract: XML libvirt refuses at define is refused alike by the simulator. isapc is
a real x86 machine type without a PCI bus; the virtio balloon every virtfleet guest
gets needs one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from support.guest import with_guest
from support.virt_payloads import write_payload
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.types import GuestSpec

ISAPC_WITHOUT_PCI_DEVICES = """<domain type='qemu'>
  <name>vf-contract-isapc-{suffix}</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='isapc'>hvm</type></os>
  <devices>{devices}</devices>
</domain>"""


@pytest.fixture(params=["sim", pytest.param("libvirt", marks=pytest.mark.libvirt)])
def conn(request: pytest.FixtureRequest) -> Iterator[Any]:
    connection = open_connection("sim://kvm-1" if request.param == "sim" else "qemu:///system")
    yield connection
    connection.close()


def test_a_machine_without_pci_refuses_the_guest_at_define(conn: Any, tmp_path: Path) -> None:
    conf = make_conf(data_dir=str(tmp_path), libvirt__virt_type="qemu")
    driver = LibvirtDriver(conn, conf)
    instance = str(uuid.uuid4())
    spec = with_guest(GuestSpec(
        instance_uuid=instance, name="isapc", vcpus=1, memory_mb=64,
        image_properties={"hw_architecture": "x86_64", "hw_machine_type": "isapc"},
        kernel_path=str(write_payload("x86_64", tmp_path)),
    ))  # fmt: skip
    with pytest.raises(errors.HypervisorError) as caught:
        driver.spawn(spec)
    assert caught.value.code == libvirt.VIR_ERR_XML_ERROR
    assert caught.value.message.endswith("failed: XML error: No PCI buses available")
    assert instance not in driver.list_instance_uuids()
    assert not (tmp_path / "instances" / instance).exists()


@pytest.mark.parametrize(
    ("devices", "refused"),
    [
        ("<memballoon model='none'/>", False),
        ("<memballoon model='virtio'/>", True),
        ("<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"
         "<memballoon model='none'/>", True),
        ("<video><model type='vga'/></video><memballoon model='none'/>", True),
    ],
)  # fmt: skip
def test_which_devices_need_pci(conn: Any, devices: str, refused: bool) -> None:
    xml = ISAPC_WITHOUT_PCI_DEVICES.format(suffix=uuid.uuid4().hex[:8], devices=devices)
    if refused:
        with pytest.raises(libvirt.libvirtError) as caught:
            conn.defineXML(xml)
        assert caught.value.get_error_code() == libvirt.VIR_ERR_XML_ERROR
        assert caught.value.get_error_message() == "XML error: No PCI buses available"
        return
    domain = conn.defineXML(xml)
    domain.undefine()
