"""Which cloud a `virtfleet` command talks to: clouds.yaml read as the openstack
client reads it ($OS_CLOUD, $OS_CLIENT_CONFIG_FILE), --endpoint as an override."""

from __future__ import annotations

import pathlib

import click
import pytest
import yaml

from virtfleet.cli import clouds, target


@pytest.fixture
def clouds_yaml(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    path = tmp_path / "clouds.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "clouds": {
                    "virtfleet": clouds.noauth_entry("http://127.0.0.1:1001"),
                    "lab": clouds.noauth_entry("http://127.0.0.1:2002"),
                }
            }
        )
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    monkeypatch.delenv("OS_CLOUD", raising=False)
    return path


def test_the_virtfleet_cloud_is_the_default(clouds_yaml: pathlib.Path) -> None:
    assert target.resolve_client(None).endpoint == "http://127.0.0.1:1001"


def test_os_cloud_picks_another_cloud(
    clouds_yaml: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_CLOUD", "lab")
    assert target.resolve_client(None).endpoint == "http://127.0.0.1:2002"


def test_endpoint_overrides_the_clouds_endpoint(clouds_yaml: pathlib.Path) -> None:
    client = target.resolve_client("http://127.0.0.1:3003/")
    assert client.endpoint == "http://127.0.0.1:3003"


def test_an_unknown_os_cloud_is_named_in_the_error(
    clouds_yaml: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_CLOUD", "nowhere")
    with pytest.raises(click.ClickException, match="no cloud 'nowhere'"):
        target.resolve_client(None)
    # With an endpoint, a missing cloud means the unauthenticated test mode.
    assert target.resolve_client("http://127.0.0.1:4004").token is None


def test_a_password_cloud_with_an_unreachable_keystone_is_a_clear_error(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clouds.yaml"
    entry = clouds.password_entry("http://127.0.0.1:9/v3", "u", "p", "proj", "RegionOne")
    path.write_text(yaml.safe_dump({"clouds": {"virtfleet": entry}}))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    monkeypatch.delenv("OS_CLOUD", raising=False)
    with pytest.raises(click.ClickException, match="cannot authenticate with Keystone"):
        target.resolve_client(None)
