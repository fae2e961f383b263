"""The real ``openstack`` CLI against a real ``virtfleet up`` (simulated hosts, its
own clouds.yaml and identity): a network with a subnet, a server on it whose address
``server show`` lists, and everything deleted again."""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from support.cloud import Cloud


def test_network_subnet_server_with_the_openstack_cli(cloud: Cloud, tmp_path: pathlib.Path) -> None:
    cloud.openstack("network", "create", "cli-net")
    cloud.openstack(
        "subnet", "create", "--network", "cli-net", "--subnet-range", "203.0.113.0/24", "cli-v4"
    )
    cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "net.cli")
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 65536)
    cloud.openstack(
        "image", "create", "--disk-format", "raw", "--container-format", "bare",
        "--file", str(disk), "--property", "hw_architecture=x86_64", "net-img",
    )  # fmt: skip
    server = cloud.openstack_json(
        "server", "create", "--flavor", "net.cli", "--image", "net-img",
        "--nic", "net-id=cli-net,v4-fixed-ip=203.0.113.50", "--wait", "net-vm",
    )  # fmt: skip
    assert server["status"] == "ACTIVE"
    shown = cloud.openstack_json("server", "show", "net-vm")
    assert shown["addresses"] == {"cli-net": ["203.0.113.50"]}
    ports = cloud.openstack_json("port", "list", "--server", "net-vm")
    assert len(ports) == 1 and ports[0]["Status"] == "ACTIVE"
    cloud.openstack("server", "delete", "--wait", "net-vm")
    assert cloud.openstack_json("port", "list") == []
    cloud.openstack("subnet", "delete", "cli-v4")
    cloud.openstack("network", "delete", "cli-net")
    assert cloud.openstack_json("network", "list") == []
