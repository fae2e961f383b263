"""The clouds.yaml entry written by `virtfleet up`."""

from __future__ import annotations

import pathlib

import yaml

from virtfleet.cli import clouds


def test_entry_added_and_other_clouds_kept(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "openstack" / "clouds.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"clouds": {"prod": {"auth_type": "password"}}}))
    clouds.write_entry(path, "http://127.0.0.1:9999")
    data = yaml.safe_load(path.read_text())
    assert data["clouds"]["prod"] == {"auth_type": "password"}
    entry = data["clouds"]["virtfleet"]
    assert entry["auth_type"] == "none"
    assert entry["compute_endpoint_override"] == "http://127.0.0.1:9999/compute/v2.1"
    assert entry["image_endpoint_override"] == "http://127.0.0.1:9999/image"
    assert entry["network_endpoint_override"] == "http://127.0.0.1:9999/networking"
    assert entry["placement_endpoint_override"] == "http://127.0.0.1:9999/placement"


def test_entry_replaced_on_restart(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "clouds.yaml"
    clouds.write_entry(path, "http://127.0.0.1:1")
    clouds.write_entry(path, "http://127.0.0.1:2")
    data = yaml.safe_load(path.read_text())
    assert data["clouds"]["virtfleet"]["compute_endpoint_override"].startswith(
        "http://127.0.0.1:2/"
    )


def test_garbage_file_is_replaced_not_crashed_on(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "clouds.yaml"
    path.write_text("- just\n- a list\n")
    clouds.write_entry(path, "http://127.0.0.1:3")
    assert "virtfleet" in yaml.safe_load(path.read_text())["clouds"]
