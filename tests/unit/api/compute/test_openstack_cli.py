"""The real ``openstack`` CLI against the Compute and Image apps served over HTTP
(cheroot on 127.0.0.1, clouds.yaml with auth_type none and endpoint overrides).

The commands run in one interactive ``openstack`` session (its start-up takes seconds);
the failing ``flavor set`` runs on its own to check the exit status and message."""

from __future__ import annotations

import pathlib

import pytest

from support.api_apps import Apps
from support.openstack_cli import serve

pytestmark = pytest.mark.slow


def test_flavor_image_server_lifecycle(apps: Apps, tmp_path: pathlib.Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\1" * 65536)
    with serve(apps, tmp_path) as cli:
        outputs, stderr = cli.session(
            "flavor create --vcpus 2 --ram 1024 --disk 5 small -f json",
            "flavor set --property hw:maxphysaddr_mode=emulate"
            " --property hw:maxphysaddr_bits=42 small",
            "flavor show small -f json",
            "image create --disk-format raw --container-format bare"
            f" --file {disk} --property hw_architecture=amd64 img -f json",
            "image show img -f json",
            "server create --flavor small --image img --wait vm -f json",
            "server show vm -f json",
            "server list -f json",
            "server delete --wait vm",
            "server list -f json",
        )
        assert len(outputs) == 8, stderr
        created, flavor, _image_created, image, server, shown, listed, after = outputs
        assert created["name"] == "small"
        assert flavor["vcpus"] == 2 and flavor["ram"] == 1024 and flavor["disk"] == 5
        assert flavor["properties"] == {
            "hw:maxphysaddr_mode": "emulate",
            "hw:maxphysaddr_bits": "42",
        }
        assert image["status"] == "active" and image["size"] == 65536
        assert image["properties"]["hw_architecture"] == "x86_64"
        assert server["status"] == "ACTIVE"
        assert shown["OS-EXT-SRV-ATTR:host"] == "kvm-a"
        assert shown["flavor"]["original_name"] == "small"
        assert [(s["Name"], s["Status"], s["Image"], s["Flavor"]) for s in listed] == [
            ("vm", "ACTIVE", "img", "small")
        ]
        assert after == []

        bogus = cli.run(
            "flavor", "set", "--property", "hw:maxphysaddr_mode=bogus", "small", check=False
        )
        assert bogus.returncode != 0
        assert (
            "Invalid extra spec hw:maxphysaddr_mode='bogus': expected one of emulate, passthrough"
        ) in bogus.stderr
    assert [name for name, _ in apps.conductor.calls] == ["build_server", "delete_server"]
