"""The clouds.yaml entry that lets `openstack --os-cloud virtfleet` work at once.

With Keystone (the default) the entry is password auth against it and nothing else:
the openstack client finds every API in the service catalog. No API version is
pinned: the clients negotiate each service's microversion with the server (a pinned
``compute_api_version: '2.1'`` broke openstacksdk's flavor creation and OSC's live
migration, which need later microversions). The file holds the
password, so it is written readable by its owner only (mode 0600). Only the
unauthenticated test mode (``[api] auth_strategy = noauth``) writes endpoint overrides.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import yaml

from virtfleet.identity.layout import DOMAIN, write_private

CLOUD_NAME = "virtfleet"


def default_path() -> pathlib.Path:
    """Where the openstack client looks first for the user's clouds (or
    ``$OS_CLIENT_CONFIG_FILE`` when set, as the client itself does)."""
    explicit = os.environ.get("OS_CLIENT_CONFIG_FILE")
    if explicit:
        return pathlib.Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return pathlib.Path(base) / "openstack" / "clouds.yaml"


def password_entry(
    auth_url: str, username: str, password: str, project_name: str, region: str
) -> dict[str, Any]:
    """Password auth against Keystone's Identity API v3; endpoints from its catalog."""
    return {
        "auth_type": "password",
        "auth": {
            "auth_url": auth_url,
            "username": username,
            "password": password,
            "project_name": project_name,
            "user_domain_name": DOMAIN,
            "project_domain_name": DOMAIN,
        },
        "identity_api_version": 3,
        "image_api_version": "2",
        "region_name": region,
    }


def noauth_entry(endpoint: str) -> dict[str, Any]:
    """The unauthenticated test mode: no auth, every API's endpoint overridden."""
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
        # No catalog: `availability zone list` takes Block Storage to be there; it
        # finds its (empty) zone list here instead of at the no-auth endpoint.
        "block_storage_endpoint_override": f"{endpoint}/volume/v3",
        "image_api_version": "2",
        "region_name": "RegionOne",
    }


def read_entry(path: pathlib.Path, name: str = CLOUD_NAME) -> dict[str, Any] | None:
    """The ``name`` cloud of ``path`` (None when the file or the cloud is missing)."""
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    entry = loaded.get("clouds", {}).get(name) if isinstance(loaded, dict) else None
    return entry if isinstance(entry, dict) else None


def write_entry(path: pathlib.Path, entry: dict[str, Any], name: str = CLOUD_NAME) -> None:
    """Add or replace the ``name`` cloud in ``path``, keeping every other cloud; the
    file ends up readable by its owner only."""
    data: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text()) or {}
        if isinstance(loaded, dict):
            data = loaded
    clouds = data.get("clouds")
    if not isinstance(clouds, dict):
        clouds = {}
    clouds[name] = entry
    data["clouds"] = clouds
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, yaml.safe_dump(data, sort_keys=True))
