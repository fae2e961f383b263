"""Server create with what the guest needs to get in: key pair, user data, hostname,
admin password and config drive; every bad value is a 400 naming it, and nothing is
created then."""

from __future__ import annotations

import base64
import pathlib
from typing import Any

import pytest

from support.api_apps import Apps, Client, make_apps
from virtfleet.api.compute.boot_access import MAX_USER_DATA, sanitize_hostname
from virtfleet.db import servers

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA7LiGCTGo+LF1ojcjb9ap5Fimw+tftCBRNubCuYWAL8 test@vf"
IMG = "11111111-1111-1111-1111-111111111111"
RISCV32 = "33333333-3333-3333-3333-333333333333"
MANDATORY = "44444444-4444-4444-4444-444444444444"


def _image(apps: Apps, image_id: str, **props: str) -> None:
    i = apps.image()
    reply = i.post(
        "/v2/images",
        {"id": image_id, "name": image_id[:4], "disk_format": "raw", "container_format": "bare"}
        | props,
    )
    assert reply.status == 201, reply.body
    i.request(
        "PUT", f"/v2/images/{image_id}/file", raw=b"x" * 64, content_type="application/octet-stream"
    )


def _world(apps: Apps) -> Apps:
    c = apps.compute()
    c.post(
        "/v2.1/flavors",
        {"flavor": {"name": "small", "id": "f1", "ram": 512, "vcpus": 1, "disk": 1}},
    )
    _image(apps, IMG, hw_architecture="x86_64")
    _image(apps, RISCV32, hw_emulation_architecture="riscv32")
    _image(apps, MANDATORY, img_config_drive="mandatory")
    return apps


@pytest.fixture
def world(apps: Apps) -> Apps:
    return _world(apps)


def client(apps: Apps, version: str = "latest") -> Client:
    c = apps.compute(version)
    c.default_headers.update({"X-User-Id": "alice", "X-Project-Id": "p1", "X-Roles": "member"})
    return c


def post(c: Client, **extra: Any) -> Any:
    body = {"name": "My_Web Server", "flavorRef": "f1", "imageRef": IMG, "networks": "none"}
    return c.post("/v2.1/servers", {"server": body | extra})


def test_everything_a_guest_needs_is_kept(world: Apps) -> None:
    c = client(world)
    assert (
        c.post("/v2.1/os-keypairs", {"keypair": {"name": "k", "public_key": ED25519}}).status == 201
    )
    user_data = base64.b64encode(b"#cloud-config\nhostname: x\n").decode()
    reply = post(c, key_name="k", user_data=user_data, config_drive=True, hostname="web-1",
                 metadata={"role": "web"})  # fmt: skip
    assert reply.status == 202, reply.body
    created = reply.json["server"]
    assert len(created["adminPass"]) == 12
    stored = servers.get(world.db, created["id"])
    assert (stored.key_name, stored.key_data) == ("k", ED25519)
    assert stored.user_data == user_data and stored.hostname == "web-1"
    assert stored.guest_request.config_drive is True
    shown = world.compute().get(f"/v2.1/servers/{created['id']}").json["server"]  # admin
    assert shown["key_name"] == "k" and shown["config_drive"] == "True"
    assert shown["OS-EXT-SRV-ATTR:hostname"] == "web-1"
    assert shown["OS-EXT-SRV-ATTR:user_data"] == user_data
    assert shown["metadata"] == {"role": "web"}


def test_defaults_hostname_from_name_and_keeps_given_password(world: Apps) -> None:
    reply = post(client(world), adminPass="s3cret-pass", config_drive="")
    assert reply.json["server"]["adminPass"] == "s3cret-pass"
    stored = servers.get(world.db, reply.json["server"]["id"])
    assert stored.hostname == "my-web-server" and stored.key_name is None
    assert stored.guest_request.config_drive is False


@pytest.mark.parametrize(
    ("name", "hostname"),
    [
        ("My_Web Server", "my-web-server"),
        ("-a.b-", "a.b"),
        ("ÄÖ!!", "server"),
        ("x" * 80, "x" * 63),
    ],
)
def test_sanitize_hostname(name: str, hostname: str) -> None:
    assert sanitize_hostname(name) == hostname


@pytest.mark.parametrize(
    ("extra", "version", "fragment"),
    [
        ({"key_name": "nokey"}, "latest", "no key pair named 'nokey'"),
        ({"key_name": 5}, "latest", "key_name"),
        ({"user_data": "not base64!"}, "latest", "not valid base64"),
        ({"user_data": "QUJ"}, "latest", "not valid base64"),
        ({"user_data": "QUJD" * (MAX_USER_DATA // 4 + 1)}, "latest", "at most 65535"),
        ({"user_data": 12}, "latest", "user_data"),
        ({"config_drive": "maybe"}, "latest", "config_drive"),
        ({"config_drive": 3}, "latest", "config_drive"),
        ({"hostname": "web-1"}, "2.89", "2.90"),
        ({"hostname": "-web"}, "latest", "hostname"),
        ({"hostname": "a" * 64}, "latest", "hostname"),
        ({"hostname": "web_1"}, "latest", "hostname"),
        ({"adminPass": 5}, "latest", "adminPass"),
        ({"imageRef": RISCV32, "config_drive": True}, "latest", "has no CD-ROM bus"),
    ],
)
def test_create_rejects(world: Apps, extra: dict[str, Any], version: str, fragment: str) -> None:
    reply = post(client(world, version), **extra)
    assert reply.status == 400, reply.body
    assert fragment in next(iter(reply.json.values()))["message"]
    assert servers.list_servers(world.db) == []
    assert world.conductor.calls == []


def test_user_data_at_the_limit_is_accepted(world: Apps) -> None:
    at_limit = "QUJD" * (MAX_USER_DATA // 4) + "QQ=="[: MAX_USER_DATA % 4]
    at_limit = at_limit[: MAX_USER_DATA - MAX_USER_DATA % 4]
    assert post(client(world), user_data=at_limit).status == 202


def test_image_can_make_the_config_drive_mandatory(world: Apps) -> None:
    reply = post(client(world), imageRef=MANDATORY)
    assert servers.get(world.db, reply.json["server"]["id"]).guest_request.config_drive


def test_without_config_drive_riscv32_is_refused_for_another_reason(world: Apps) -> None:
    reply = post(client(world), imageRef=RISCV32)
    assert reply.status == 400 and "CD-ROM" not in reply.json["badRequest"]["message"]


def test_every_cdrom_bus_is_one_the_arch_can_attach() -> None:
    from virtfleet.virt import arch

    for row in arch.ARCHES.values():
        if row.cdrom_bus is not None:
            assert row.cdrom_bus in (*row.disk_buses, "ide", "sata"), row.name
    assert arch.get("riscv32").cdrom_bus is None


def test_force_config_drive(tmp_path: pathlib.Path) -> None:
    forced = _world(make_apps(tmp_path, compute__force_config_drive=True))
    reply = post(client(forced))
    assert servers.get(forced.db, reply.json["server"]["id"]).guest_request.config_drive
    refused = post(client(forced), imageRef=RISCV32)
    assert refused.status == 400
    assert "force_config_drive" in refused.json["badRequest"]["message"]
