"""The clouds.yaml entry written by `virtfleet up`."""

from __future__ import annotations

import pathlib
import stat

import yaml

from virtfleet.cli import clouds

PASSWORD_ENTRY = clouds.password_entry(
    "http://127.0.0.1:5000/v3", "admin", "s3cret", "admin", "RegionOne"
)


def test_password_entry_has_auth_and_no_endpoint_overrides(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "clouds.yaml"
    clouds.write_entry(path, PASSWORD_ENTRY)
    entry = yaml.safe_load(path.read_text())["clouds"]["virtfleet"]
    assert entry["auth_type"] == "password"
    assert entry["auth"] == {
        "auth_url": "http://127.0.0.1:5000/v3",
        "username": "admin",
        "password": "s3cret",
        "project_name": "admin",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }
    assert not [key for key in entry if key.endswith("endpoint_override")]
    assert "endpoint" not in entry["auth"]


def test_the_file_is_readable_by_its_owner_only(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "clouds.yaml"
    path.write_text("clouds: {}\n")
    path.chmod(0o644)
    clouds.write_entry(path, PASSWORD_ENTRY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_entry_added_and_other_clouds_kept(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "openstack" / "clouds.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"clouds": {"prod": {"auth_type": "password"}}}))
    clouds.write_entry(path, clouds.noauth_entry("http://127.0.0.1:9999"))
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
    clouds.write_entry(path, clouds.noauth_entry("http://127.0.0.1:1"))
    clouds.write_entry(path, PASSWORD_ENTRY)
    data = yaml.safe_load(path.read_text())
    assert data["clouds"]["virtfleet"] == PASSWORD_ENTRY


def test_garbage_file_is_replaced_not_crashed_on(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "clouds.yaml"
    path.write_text("- just\n- a list\n")
    clouds.write_entry(path, PASSWORD_ENTRY)
    assert "virtfleet" in yaml.safe_load(path.read_text())["clouds"]
    assert clouds.read_entry(path) == PASSWORD_ENTRY
    assert clouds.read_entry(tmp_path / "missing.yaml") is None


def test_no_api_version_is_pinned() -> None:
    """The clients negotiate each microversion: a pinned compute_api_version of 2.1
    broke openstacksdk's flavor creation and OSC's live migration."""
    for entry in (PASSWORD_ENTRY, clouds.noauth_entry("http://127.0.0.1:9999")):
        assert "compute_api_version" not in entry
        assert not [key for key in entry if key.endswith("_api_version") and key not in
                    ("identity_api_version", "image_api_version")]  # fmt: skip
