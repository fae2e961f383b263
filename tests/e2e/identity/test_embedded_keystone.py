"""The Keystone that `virtfleet up` embeds: bootstrap, catalog, supervision."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import stat
import time

import pytest

from support import keystone as test_keystone
from support.identity_cloud import IdentityCloud
from virtfleet import errors
from virtfleet.identity.embedded import EmbeddedKeystone
from virtfleet.identity.layout import KeystoneLayout


def test_bootstrap_made_the_roles_admin_and_private_files() -> None:
    layout = test_keystone.template()
    print(f"keystone bootstrap took {test_keystone.BOOTSTRAP_SECONDS} s")
    for path in (layout.admin_password_file, layout.service_password_file, layout.config_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(layout.root.stat().st_mode) == 0o700


def test_roles_and_catalog(cloud: IdentityCloud) -> None:
    admin, base = cloud.sessions["admin"], cloud.keystone.auth_url
    roles = {r["name"] for r in admin.get(f"{base}/roles").json()["roles"]}
    assert {"admin", "member", "reader", "service"} <= roles
    services = admin.get(f"{base}/services").json()["services"]
    assert sorted(s["type"] for s in services) == [
        "compute",
        "identity",
        "image",
        "network",
        "placement",
    ]
    public = {
        s["type"]: admin.get_endpoint(service_type=s["type"], interface="public") for s in services
    }
    assert public == {
        "identity": base,
        "compute": f"{cloud.endpoint}/compute/v2.1",
        "image": f"{cloud.endpoint}/image",
        "network": f"{cloud.endpoint}/networking",
        "placement": f"{cloud.endpoint}/placement",
    }


def test_a_killed_keystone_is_restarted(tmp_path: pathlib.Path) -> None:
    layout = test_keystone.seed(tmp_path)
    keystone = EmbeddedKeystone(layout, "127.0.0.1:0", "RegionOne", start_timeout=120)
    keystone.start()
    try:
        first = keystone.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while not (keystone.pid not in (None, first) and keystone.answers()):
            assert time.monotonic() < deadline, "keystone was not restarted"
            time.sleep(0.2)
        assert keystone.restarts == 1
    finally:
        keystone.stop()
    assert not keystone.answers()


def test_a_keystone_that_cannot_start_says_why(tmp_path: pathlib.Path) -> None:
    layout = test_keystone.seed(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        keystone = EmbeddedKeystone(layout, f"127.0.0.1:{port}", "RegionOne", start_timeout=60)
        with pytest.raises(errors.ConfigError, match="keystone exited at start"):
            keystone.start()
    keystone.stop()


def test_bad_listen_is_a_config_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.ConfigError, match=r"\[identity\] listen 'nowhere'"):
        EmbeddedKeystone(KeystoneLayout(tmp_path), "nowhere", "RegionOne", 10)
