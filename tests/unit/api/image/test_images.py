"""The Image API v2: versions, images, JSON-patch updates, data, filters, errors."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from support.api_apps import Apps, Client
from virtfleet.api.policy.enforcer import Authorizer, with_authorizer
from virtfleet.conf import make_conf

PATCH = "application/openstack-images-v2.1-json-patch"


def create(c: Client, **body: Any) -> dict[str, Any]:
    reply = c.post("/v2/images", body)
    assert reply.status == 201, reply.body
    image: dict[str, Any] = reply.json
    assert reply.headers["Location"] == f"http://localhost/image/v2/images/{image['id']}"
    return image


def patch(c: Client, image_id: str, ops: list[dict[str, Any]]) -> Any:
    return c.patch(f"/v2/images/{image_id}", ops, content_type=PATCH)


def upload(c: Client, image_id: str, data: bytes) -> Any:
    return c.request(
        "PUT", f"/v2/images/{image_id}/file", raw=data, content_type="application/octet-stream"
    )


def test_versions(apps: Apps) -> None:
    c = apps.image()
    root = c.get("/")
    assert root.status == 300
    current = root.json["versions"][0]
    assert current["status"] == "CURRENT" and current["id"].startswith("v2.")
    assert current["links"][0]["href"] == "http://localhost/image/v2/"
    assert c.get("/versions").status == 200
    assert c.get("/v2/").json == c.get("/versions").json


def test_create_show_and_properties(apps: Apps) -> None:
    c = apps.image()
    image = create(
        c,
        name="cirros",
        disk_format="qcow2",
        container_format="bare",
        visibility="public",
        min_ram=64,
        tags=["a"],
        hw_architecture="arm64",
        hw_machine_type="virt",
        custom="kept",
    )
    assert image["status"] == "queued" and image["size"] is None
    assert image["hw_architecture"] == "aarch64"
    assert image["custom"] == "kept"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    shown = c.get(f"/v2/images/{image['id']}").json
    assert shown == image
    fixed = create(c, id="5e3b1ecd-0000-4000-8000-000000000001", name="fixed")
    assert fixed["id"] == "5e3b1ecd-0000-4000-8000-000000000001"
    again = c.post("/v2/images", {"id": fixed["id"]})
    assert again.status == 409


def test_upload_download_and_hashes(apps: Apps) -> None:
    c = apps.image()
    image = create(c, name="disk", disk_format="raw", container_format="bare")
    data = bytes(range(256)) * 1000
    assert upload(c, image["id"], data).status == 204
    shown = c.get(f"/v2/images/{image['id']}").json
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    download = c.get(f"/v2/images/{image['id']}/file")
    assert download.status == 200 and download.body == data
    assert download.headers["Content-MD5"] == shown["checksum"]
    second = upload(c, image["id"], b"again")
    assert second.status == 409 and second.json["code"] == "409 Conflict"


def test_download_without_data_is_204(apps: Apps) -> None:
    c = apps.image()
    image = create(c, name="empty")
    assert c.get(f"/v2/images/{image['id']}/file").status == 204


def test_patch_add_replace_remove(apps: Apps) -> None:
    c = apps.image()
    image = create(c, name="a", hw_disk_bus="virtio")
    reply = patch(
        c,
        image["id"],
        [
            {"op": "replace", "path": "/name", "value": "b"},
            {"op": "add", "path": "/hw_firmware_type", "value": "uefi"},
            {"op": "replace", "path": "/hw_disk_bus", "value": "scsi"},
            {"op": "add", "path": "/tags/blue", "value": None},
            {"op": "replace", "path": "/protected", "value": True},
        ],
    )
    assert reply.status == 200, reply.body
    body = reply.json
    assert body["name"] == "b" and body["hw_firmware_type"] == "uefi"
    assert body["hw_disk_bus"] == "scsi" and body["tags"] == ["blue"] and body["protected"]
    removed = patch(
        c,
        image["id"],
        [{"op": "remove", "path": "/hw_firmware_type"}, {"op": "remove", "path": "/tags/blue"}],
    )
    assert "hw_firmware_type" not in removed.json and removed.json["tags"] == []


def test_patch_tags_as_rfc_6902_lists(apps: Apps) -> None:
    """What openstacksdk's diffs send: ``add /tags/<index>`` with the tag as value,
    ``remove /tags/<index>``; tags stay a set."""
    c = apps.image()
    image = create(c, name="listed")
    added = patch(
        c,
        image["id"],
        [
            {"op": "add", "path": "/tags/0", "value": "gold"},
            {"op": "add", "path": "/tags/-", "value": "blue"},
            {"op": "add", "path": "/tags/2", "value": "gold"},
        ],
    )
    assert added.status == 200 and added.json["tags"] == ["gold", "blue"], added.body
    removed = patch(c, image["id"], [{"op": "remove", "path": "/tags/0"}])
    assert removed.json["tags"] == ["blue"]
    missing = patch(c, image["id"], [{"op": "remove", "path": "/tags/red"}])
    assert missing.status == 404, missing.body


@pytest.mark.parametrize(
    ("ops", "status", "fragment"),
    [
        ([{"op": "add", "path": "/hw_disk_bus", "value": "floppy"}], 400, "hw_disk_bus='floppy'"),
        ([{"op": "add", "path": "/hw_architecture", "value": "vax"}], 400, "'vax'"),
        (
            [{"op": "add", "path": "/hw_emulation_architecture", "value": "pdp11"}],
            400,
            "unknown architecture 'pdp11'; valid: aarch64, armv6l",
        ),
        (
            [{"op": "add", "path": "/hw_firmware_type", "value": "coreboot"}],
            400,
            "hw_firmware_type='coreboot': expected one of bios, uefi",
        ),
        (
            [{"op": "add", "path": "/hw_machine_type", "value": "pc-q35"}],
            400,
            "hw_machine_type='pc-q35': unknown machine type 'pc-q35'; valid: q35, pc,",
        ),
        (
            [{"op": "add", "path": "/hw_maxphysaddr_mode", "value": "emulate"}],
            400,
            "requires maxphysaddr bits",
        ),
        ([{"op": "add", "path": "/kernel_id", "value": "nope"}], 400, "no image with that id"),
        ([{"op": "add", "path": "/status", "value": "active"}], 403, "read-only"),
        ([{"op": "remove", "path": "/name"}], 403, "cannot be removed"),
        ([{"op": "replace", "path": "/missing", "value": "x"}], 409, "does not exist"),
        ([{"op": "remove", "path": "/missing"}], 409, "does not exist"),
        ([{"op": "move", "path": "/name"}], 400, "add, replace or remove"),
        ([{"op": "add", "path": "name", "value": "x"}], 400, "path"),
        ([{"op": "add", "path": "/a/b", "value": "x"}], 400, "nested"),
        ([{"op": "add", "path": "/name"}], 400, "needs a 'value'"),
        ([{"op": "add", "path": "/min_ram", "value": -1}], 400, "min_ram"),
        ([{"op": "add", "path": "/visibility", "value": "everyone"}], 400, "visibility"),
        ([{"op": "add", "path": "/custom", "value": 5}], 400, "not a string"),
        (["add"], 400, "expected an object"),
    ],
)
def test_patch_errors(apps: Apps, ops: list[Any], status: int, fragment: str) -> None:
    c = apps.image()
    image = create(c, name="a")
    reply = patch(c, image["id"], ops)
    assert reply.status == status, reply.body
    assert fragment in reply.json["message"]
    assert reply.json["title"] in reply.json["code"]
    assert c.get(f"/v2/images/{image['id']}").json == image


@pytest.mark.parametrize(
    ("properties", "machine"),
    [
        ({"hw_architecture": "x86_64"}, "pc-i440fx-7.2"),
        ({"hw_architecture": "amd64"}, "pc-q35-rhel9.2.0"),
        ({"hw_emulation_architecture": "arm64"}, "virt-7.2"),
        ({"hw_emulation_architecture": "ppc64el"}, "pseries-2.12"),
        ({"hw_emulation_architecture": "riscv64"}, "virt"),
        ({"hw_emulation_architecture": "mipsel"}, "malta"),
        ({"hw_architecture": "x86_64", "hw_emulation_architecture": "s390x"}, "s390-ccw-virtio"),
        ({}, "pseries"),  # no arch on the image: a machine type of any arch
    ],
)
def test_machine_types_of_the_guest_arch_are_accepted(
    apps: Apps, properties: dict[str, str], machine: str
) -> None:
    image = create(apps.image(), name="m", hw_machine_type=machine, **properties)
    assert image["hw_machine_type"] == machine


def test_patch_checks_the_machine_type_against_the_resulting_arch(apps: Apps) -> None:
    c = apps.image()
    image = create(c, name="arm", hw_emulation_architecture="aarch64", hw_machine_type="virt")
    # the arch moves to s390x while the machine type stays virt: refused as a whole
    reply = patch(c, image["id"], [
        {"op": "replace", "path": "/hw_emulation_architecture", "value": "s390x"},
    ])  # fmt: skip
    assert reply.status == 400, reply.body
    assert "hw_machine_type='virt'" in reply.json["message"]
    assert "for s390x; valid: s390-ccw-virtio" in reply.json["message"]
    assert c.get(f"/v2/images/{image['id']}").json == image
    both = patch(c, image["id"], [
        {"op": "replace", "path": "/hw_emulation_architecture", "value": "s390x"},
        {"op": "replace", "path": "/hw_machine_type", "value": "s390-ccw-virtio-7.2"},
    ])  # fmt: skip
    assert both.status == 200, both.body
    assert both.json["hw_machine_type"] == "s390-ccw-virtio-7.2"
    wrong = patch(c, image["id"], [{"op": "replace", "path": "/hw_machine_type", "value": "q35"}])
    assert wrong.status == 400 and "for s390x" in wrong.json["message"]


def test_patch_needs_the_patch_media_type_and_a_list(apps: Apps) -> None:
    c = apps.image()
    image = create(c, name="a")
    wrong = c.patch(f"/v2/images/{image['id']}", [])
    assert wrong.status == 415 and wrong.headers["Accept-Patch"] == PATCH
    assert patch(c, image["id"], {"op": "add"}).status == 400  # type: ignore[arg-type]
    assert c.patch(f"/v2/images/{image['id']}", raw=b"[", content_type=PATCH).status == 400


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"hw_video_model": "svga"}, 400, "hw_video_model"),
        ({"hw_emulation_architecture": "z80"}, 400, "'z80'"),
        ({"hw_firmware_type": "UEFI"}, 400, "hw_firmware_type='UEFI': expected one of bios, uefi"),
        ({"hw_firmware_type": ""}, 400, "hw_firmware_type=''"),
        (
            {"hw_architecture": "arm64", "hw_machine_type": "q35"},
            400,
            "hw_machine_type='q35': unknown machine type 'q35' for aarch64; valid: virt, virt-X.Y",
        ),
        (
            {"hw_emulation_architecture": "s390x", "hw_machine_type": "s390-ccw"},
            400,
            "valid: s390-ccw-virtio, s390-ccw-virtio-X.Y",
        ),
        ({"hw_machine_type": "amiga"}, 400, "unknown machine type 'amiga'; valid: q35"),
        ({"hw_maxphysaddr_mode": "passthrough", "hw_maxphysaddr_bits": "40"}, 400, "not allowed"),
        ({"ramdisk_id": "nope"}, 400, "no image with that id"),
        ({"disk_format": "floppy"}, 400, "disk_format"),
        ({"container_format": "zip"}, 400, "container_format"),
        ({"protected": "yes"}, 400, "protected"),
        ({"tags": "a"}, 400, "tags"),
        ({"size": 5}, 403, "read-only"),
        ({"id": 5}, 400, "Invalid id"),
    ],
)
def test_create_errors(apps: Apps, body: dict[str, Any], status: int, fragment: str) -> None:
    reply = apps.image().post("/v2/images", body)
    assert reply.status == status, reply.body
    assert fragment in reply.json["message"]
    assert apps.image().get("/v2/images").json["images"] == []


def test_malformed_bodies(apps: Apps) -> None:
    c = apps.image()
    reply = c.post("/v2/images", raw=b"{oops")
    assert reply.status == 400
    assert reply.json == {
        "message": reply.json["message"],
        "code": "400 Bad Request",
        "title": "Bad Request",
    }
    assert c.post("/v2/images", []).status == 400


def test_list_filters_and_paging(apps: Apps) -> None:
    c = apps.image()
    a = create(c, name="a", disk_format="raw", hw_architecture="x86_64", tags=["gold"])
    b = create(c, name="b", disk_format="qcow2", hw_architecture="aarch64")
    names = lambda q: sorted(i["name"] for i in c.get("/v2/images" + q).json["images"])  # noqa: E731
    assert names("") == ["a", "b"]
    assert names("?name=a") == ["a"]
    assert names("?disk_format=qcow2") == ["b"]
    assert names("?hw_architecture=aarch64") == ["b"]
    assert names("?tag=gold") == ["a"]
    assert names(f"?id=in:{a['id']},{b['id']}") == ["a", "b"]
    assert names("?status=active") == []
    assert names("?os_hidden=false") == ["a", "b"]
    assert names("?os_hidden=true") == []
    assert names("?sort_key=name&sort_dir=asc") == ["a", "b"]
    first = c.get("/v2/images?limit=1").json
    assert len(first["images"]) == 1 and "next" in first
    rest = c.get(f"/v2/images?limit=1&marker={first['images'][0]['id']}").json["images"]
    assert len(rest) == 1 and rest[0]["id"] != first["images"][0]["id"]
    assert c.get("/v2/images?limit=x").status == 400
    assert c.get("/v2/images?marker=nope").status == 400


def test_delete_removes_data_and_honours_protected(apps: Apps, tmp_path: Any) -> None:
    c = apps.image()
    image = create(c, name="a")
    upload(c, image["id"], b"data")
    assert (tmp_path / "images" / image["id"]).exists()
    assert c.delete(f"/v2/images/{image['id']}").status == 204
    assert not (tmp_path / "images" / image["id"]).exists()
    assert c.get(f"/v2/images/{image['id']}").status == 404
    locked = create(c, name="locked", protected=True)
    reply = c.delete(f"/v2/images/{locked['id']}")
    assert reply.status == 403 and reply.json["title"] == "Forbidden"


def test_404_405_and_schema(apps: Apps) -> None:
    c = apps.image()
    missing = c.get("/v2/images/nope")
    assert missing.status == 404
    assert missing.json["code"] == "404 Not Found" and "nope" in missing.json["message"]
    assert c.delete("/v2/images/nope").status == 404
    assert upload(c, "nope", b"x").status == 404
    assert c.get("/v2/nothing").status == 404
    wrong = c.request("POST", "/v2/images/nope")
    assert wrong.status == 405 and wrong.json["code"] == "405 Method Not Allowed"
    schema = c.get("/v2/schemas/image").json
    assert schema["name"] == "image" and "disk_format" in schema["properties"]
    listing = c.get("/v2/schemas/images").json
    assert listing["properties"]["images"]["items"] == schema


def test_failed_upload_leaves_the_image_queued_without_data(apps: Apps, tmp_path: Any) -> None:
    image = create(apps.image(), name="a")

    def broken() -> Any:
        yield b"first chunk"
        raise OSError("client went away")

    with pytest.raises(OSError):
        apps.images.upload(image["id"], broken())
    shown = apps.image().get(f"/v2/images/{image['id']}").json
    assert shown["status"] == "queued" and shown["size"] is None
    assert list((tmp_path / "images").iterdir()) == []
    assert upload(apps.image(), image["id"], b"retry").status == 204


def test_a_service_downloads_any_projects_private_image_a_stranger_gets_404(
    apps: Apps,
) -> None:
    conf = make_conf(api__auth_strategy="noauth")
    app = with_authorizer(apps.image_app, Authorizer(conf))

    def client(roles: str, project: str) -> Client:
        return Client(app, "/image", {"X-Roles": roles, "X-Project-Id": project})

    owner = client("member", "owner-project")
    image = create(owner, name="disk", disk_format="raw", container_format="bare",
                   visibility="private")  # fmt: skip
    assert upload(owner, image["id"], b"private bits").status == 204
    path = f"/v2/images/{image['id']}/file"
    agent = client("service", "service")  # an agent's service user
    assert (agent.get(path).status, agent.get(path).body) == (200, b"private bits")
    stranger = client("member", "other-project")
    assert stranger.get(path).status == 404
    assert client("service", "service").get("/v2/images/no-such-image/file").status == 404
