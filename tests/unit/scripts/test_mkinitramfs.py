"""scripts/mkinitramfs.py: kernel modules go into the guest's initramfs in an order
that loads each after the modules its modinfo ``depends=`` names (Debian's 6.1 kernel:
virtio needs virtio_ring first), /init asks DHCP on every NIC, and the lease reaches
the console even though udhcpc's own output is discarded."""

from __future__ import annotations

import gzip
import importlib.util
import pathlib
import sys
from types import ModuleType

import pytest

SCRIPT = pathlib.Path(__file__).parents[3] / "scripts" / "mkinitramfs.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mkinitramfs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mkinitramfs"] = module
    spec.loader.exec_module(module)
    return module


mkinitramfs = load_script()


def module(depends: str) -> bytes:
    """A stand-in kernel module: a .modinfo-like run of NUL-separated strings."""
    return b"\x7fELF...\0license=GPL\0depends=" + depends.encode() + b"\0vermagic=6.1\0"


def entries(archive: bytes) -> dict[str, bytes]:
    """The newc cpio entries of a gzip'd initramfs, by name, in archive order."""
    data, found, offset = gzip.decompress(archive), {}, 0
    while data[offset : offset + 6] == b"070701":
        fields = [int(data[offset + 6 + 8 * i : offset + 14 + 8 * i], 16) for i in range(13)]
        size, name_size = fields[6], fields[11]
        name = data[offset + 110 : offset + 110 + name_size - 1].decode()
        start = offset + 110 + name_size
        start += -start % 4
        found[name] = data[start : start + size]
        offset = start + size + (-size % 4)
    return found


def test_modules_load_after_what_they_depend_on() -> None:
    given = [
        ("virtio.ko", module("virtio_ring")),
        ("virtio_ring.ko", module("")),
        ("virtio_pci.ko", module("virtio_ring,virtio_pci_modern_dev,virtio")),
        ("virtio_pci_modern_dev.ko", module("")),
        ("virtio_net.ko", module("virtio_ring,virtio,net_failover")),  # net_failover built in
    ]
    names = [n for n in entries(mkinitramfs.build(b"busybox", given)) if n.endswith(".ko")]
    assert names == [
        "lib/modules/00-virtio_ring.ko",
        "lib/modules/01-virtio.ko",
        "lib/modules/02-virtio_pci_modern_dev.ko",
        "lib/modules/03-virtio_pci.ko",
        "lib/modules/04-virtio_net.ko",
    ]


def test_modules_depending_on_each_other_are_refused() -> None:
    with pytest.raises(ValueError, match="cycle"):
        mkinitramfs.load_order([("a.ko", module("b")), ("b.ko", module("a"))])


def test_init_asks_dhcp_on_every_nic_and_the_lease_reaches_the_console() -> None:
    files = entries(mkinitramfs.build(b"busybox"))
    init, dhcp = files["init"].decode(), files["bin/vf-dhcp"].decode()
    assert "ls /sys/class/net | grep '^eth'" in init
    assert 'udhcpc -i "$nic"' in init and ">/dev/null 2>&1" in init
    assert "VF-DHCP dev=$interface ip=$ip" in dhcp and dhcp.rstrip().count(">/dev/console") == 1
