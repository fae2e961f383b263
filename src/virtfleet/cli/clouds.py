"""The clouds.yaml entry that lets `openstack --os-cloud virtfleet` work at once."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import yaml

CLOUD_NAME = "virtfleet"


def default_path() -> pathlib.Path:
    """Where the openstack client looks first for the user's clouds."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return pathlib.Path(base) / "openstack" / "clouds.yaml"


def cloud_entry(endpoint: str) -> dict[str, Any]:
    """A no-auth cloud with every API's endpoint overridden."""
    return {
        "auth_type": "none",
        # osc-placement asks the session (not *_endpoint_override) for its endpoint;
        # the no-auth plugin answers every such question with this one.
        "auth": {"endpoint": f"{endpoint}/placement"},
        "compute_endpoint_override": f"{endpoint}/compute/v2.1",
        "image_endpoint_override": f"{endpoint}/image",
        "network_endpoint_override": f"{endpoint}/networking",
        "placement_endpoint_override": f"{endpoint}/placement",
        # Version discovery only: some commands build an Identity client first.
        "identity_endpoint_override": f"{endpoint}/identity",
        "compute_api_version": "2.1",
        "image_api_version": "2",
        "region_name": "RegionOne",
    }


def write_entry(path: pathlib.Path, endpoint: str, name: str = CLOUD_NAME) -> None:
    """Add or replace the ``name`` cloud in ``path``, keeping every other cloud."""
    data: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text()) or {}
        if isinstance(loaded, dict):
            data = loaded
    clouds = data.get("clouds")
    if not isinstance(clouds, dict):
        clouds = {}
    clouds[name] = cloud_entry(endpoint)
    data["clouds"] = clouds
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=True))
    tmp.replace(path)
