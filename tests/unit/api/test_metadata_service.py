"""The metadata service over WSGI: the proxy's signed identity is required (400
without it, 403 for a forged signature, an empty secret or a foreign tenant), and a
known instance gets its OpenStack and EC2 metadata from the shared builder."""

from __future__ import annotations

import base64
import json
import pathlib
from typing import Any

import pytest
import webob

from support.api_apps import make_db
from virtfleet.api.metadata import MetadataApp
from virtfleet.db import servers
from virtfleet.db.servers import GuestAccess
from virtfleet.network import metadata_identity as ident
from virtfleet.objects.guest_request import GuestRequest

SECRET = "s3cret"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA7LiGCTGo+LF1ojcjb9ap5Fimw+tftCBRNubCuYWAL8 t@vf"


@pytest.fixture
def world(tmp_path: pathlib.Path) -> tuple[MetadataApp, str]:
    db = make_db(tmp_path)
    server = servers.create(
        db,
        name="vm",
        flavor={"name": "small", "vcpus": 1, "memory_mb": 64},
        image_ref="11111111-2222-3333-4444-555555555555",
        image={},
        guest_request=GuestRequest(),
        project_id="p1",
        user_id="u1",
        metadata={"role": "db"},
        access=GuestAccess(
            key_name="k",
            key_data=KEY,
            user_data=base64.b64encode(b"#!/bin/sh\necho hi\n").decode(),
            hostname="vm-host",
        ),
    )
    return MetadataApp(db, None, lambda: SECRET), server.uuid


def get(app: MetadataApp, path: str, headers: dict[str, str] | None = None) -> webob.Response:
    req = webob.Request.blank(path, headers=headers or {})
    return req.get_response(app)


def signed(uuid: str, project: str = "p1", secret: str = SECRET) -> dict[str, str]:
    return ident.headers(secret, ident.Identity(uuid, project, "192.0.2.10"))


def test_openstack_tree(world: tuple[MetadataApp, str]) -> None:
    app, uuid = world
    h = signed(uuid)
    assert get(app, "/openstack", h).text.splitlines()[-1] == "latest"
    listing = get(app, "/openstack/latest/", h).text.splitlines()
    assert {"meta_data.json", "user_data", "network_data.json", "vendor_data2.json"} <= set(listing)
    meta = get(app, "/openstack/latest/meta_data.json", h)
    assert meta.content_type == "application/json"
    body: dict[str, Any] = json.loads(meta.body)
    assert body["uuid"] == uuid and body["hostname"] == "vm-host"
    assert body["public_keys"] == {"k": KEY} and body["meta"] == {"role": "db"}
    assert body["project_id"] == "p1"
    assert get(app, "/openstack/2012-08-10/meta_data.json", h).status_int == 200
    assert get(app, "/openstack/latest/user_data", h).body == b"#!/bin/sh\necho hi\n"
    net = json.loads(get(app, "/openstack/latest/network_data.json", h).body)
    assert net == {"links": [], "networks": [], "services": []}


def test_ec2_tree(world: tuple[MetadataApp, str]) -> None:
    app, uuid = world
    h = signed(uuid)
    assert "2009-04-04" in get(app, "/", h).text.splitlines()
    assert get(app, "/latest", h).text.splitlines() == ["meta-data/", "user-data"]
    listing = get(app, "/2009-04-04/meta-data/", h).text.splitlines()
    assert {"instance-id", "hostname", "placement/", "public-keys/"} <= set(listing)
    assert get(app, "/latest/meta-data/instance-id", h).text == f"i-{uuid.replace('-', '')[:8]}"
    assert get(app, "/latest/meta-data/placement/availability-zone", h).text == "nova"
    assert get(app, "/latest/meta-data/public-keys/", h).text == "0=k"
    assert get(app, "/latest/meta-data/public-keys/0/", h).text == "openssh-key"
    assert get(app, "/latest/meta-data/public-keys/0/openssh-key", h).text == KEY
    assert get(app, "/latest/meta-data/security-groups", h).text == "default"
    assert get(app, "/latest/user-data", h).body == b"#!/bin/sh\necho hi\n"


@pytest.mark.parametrize(
    "path",
    [
        "/openstack/1999-01-01/meta_data.json",
        "/openstack/latest/nothing.json",
        "/openstack/latest/meta_data.json/x",
        "/1999/meta-data/",
        "/latest/meta-data/nothing",
        "/latest/meta-data/public-keys/0/_name",
        "/latest/other",
    ],
)
def test_unknown_paths_are_404(world: tuple[MetadataApp, str], path: str) -> None:
    app, uuid = world
    assert get(app, path, signed(uuid)).status_int == 404


def test_identity_is_required_and_checked(world: tuple[MetadataApp, str]) -> None:
    app, uuid = world
    missing = get(app, "/openstack/latest/meta_data.json")
    assert missing.status_int == 400 and "X-Instance-ID" in missing.text
    forged = get(app, "/latest/meta-data/", signed(uuid, secret="guess"))
    assert forged.status_int == 403 and "Signature" in forged.text
    foreign = get(app, "/latest/meta-data/", signed(uuid, project="p2"))
    assert foreign.status_int == 403 and "does not own" in foreign.text
    gone = get(app, "/latest/meta-data/", signed("00000000-0000-0000-0000-000000000000"))
    assert gone.status_int == 404
    no_secret = MetadataApp(app._db, None, lambda: "")
    assert get(no_secret, "/", signed(uuid)).status_int == 403


def test_only_get(world: tuple[MetadataApp, str]) -> None:
    app, uuid = world
    req = webob.Request.blank("/openstack", method="POST", headers=signed(uuid))
    assert req.get_response(app).status_int == 405


def test_no_user_data(tmp_path: pathlib.Path) -> None:
    db = make_db(tmp_path)
    server = servers.create(
        db, name="bare", flavor={}, image_ref="", image={}, guest_request=GuestRequest(),
        project_id="p1", user_id="u1",
    )  # fmt: skip
    app = MetadataApp(db, None, lambda: SECRET)
    assert get(app, "/latest/user-data", signed(server.uuid)).status_int == 404
    assert get(app, "/openstack/latest/user_data", signed(server.uuid)).status_int == 404
    assert get(app, "/latest", signed(server.uuid)).text == "meta-data/"
