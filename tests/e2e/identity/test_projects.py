"""Two projects with a member each: each sees only its own servers and images (unless
public or community); an admin sees every project's servers with all_tenants."""

from __future__ import annotations

import time
from typing import Any

import pytest

from support.identity_cloud import IdentityCloud

IMAGE_BODY = {"disk_format": "raw", "container_format": "bare"}


def make_image(cloud: IdentityCloud, who: str, name: str, **extra: Any) -> str:
    reply = cloud.call("POST", "/image/v2/images", who, {"name": name, **IMAGE_BODY, **extra})
    assert reply.status == 201, reply.body
    image_id: str = reply.body["id"]
    uploaded = cloud.call("PUT", f"/image/v2/images/{image_id}/file", who, raw=b"\0" * 4096)
    assert uploaded.status == 204, uploaded.body
    return image_id


@pytest.fixture(scope="module")
def world(cloud: IdentityCloud) -> dict[str, str]:
    """A flavor (admin), a private image and an ACTIVE server in each project."""
    flavor = {"flavor": {"name": "p.tiny", "vcpus": 1, "ram": 128, "disk": 1}}
    made = cloud.call("POST", "/compute/v2.1/flavors", "admin", flavor)
    assert made.status == 200, made.body
    ids: dict[str, str] = {"flavor": made.body["flavor"]["id"]}
    for who in ("member-a", "member-b"):
        image = make_image(cloud, who, f"{who}-image")
        ids[f"{who}-image"] = image
        server = {"name": f"{who}-vm", "flavorRef": ids["flavor"], "imageRef": image}
        booted = cloud.call(
            "POST", "/compute/v2.1/servers", who, {"server": {**server, "networks": "none"}}
        )
        assert booted.status == 202, booted.body
        ids[f"{who}-server"] = booted.body["server"]["id"]
    for who in ("member-a", "member-b"):
        deadline = time.monotonic() + 60
        while True:
            shown = cloud.call("GET", f"/compute/v2.1/servers/{ids[who + '-server']}", who)
            if shown.body["server"]["status"] != "BUILD" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert shown.body["server"]["status"] == "ACTIVE", shown.body
    return ids


def server_names(cloud: IdentityCloud, who: str, query: str = "") -> set[str]:
    reply = cloud.call("GET", f"/compute/v2.1/servers{query}", who)
    assert reply.status == 200, reply.body
    return {s["name"] for s in reply.body["servers"]}


def test_each_member_lists_only_its_projects_servers(
    cloud: IdentityCloud, world: dict[str, str]
) -> None:
    assert server_names(cloud, "member-a") == {"member-a-vm"}
    assert server_names(cloud, "member-b") == {"member-b-vm"}


def test_another_projects_server_is_404_for_show_delete_and_actions(
    cloud: IdentityCloud, world: dict[str, str]
) -> None:
    theirs = world["member-a-server"]
    assert cloud.call("GET", f"/compute/v2.1/servers/{theirs}", "member-b").status == 404
    assert cloud.call("DELETE", f"/compute/v2.1/servers/{theirs}", "member-b").status == 404
    stop = cloud.call(
        "POST", f"/compute/v2.1/servers/{theirs}/action", "member-b", {"os-stop": None}
    )
    assert stop.status == 404
    assert cloud.call("GET", f"/compute/v2.1/servers/{theirs}", "member-a").status == 200


def test_admin_sees_every_project_only_with_all_tenants(
    cloud: IdentityCloud, world: dict[str, str]
) -> None:
    assert server_names(cloud, "admin") == set()  # the admin project has none
    assert server_names(cloud, "admin", "?all_tenants=1") == {"member-a-vm", "member-b-vm"}
    reply = cloud.call("GET", "/compute/v2.1/servers/detail?all_tenants=1", "member-a")
    assert reply.status == 403
    assert "get_all_tenants" in str(reply.body)


def test_live_migration_is_admin_only(cloud: IdentityCloud, world: dict[str, str]) -> None:
    mine = world["member-a-server"]
    body = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
    reply = cloud.call("POST", f"/compute/v2.1/servers/{mine}/action", "member-a", body)
    assert reply.status == 403
    assert "os-migrate-server:migrate_live" in str(reply.body)


def image_names(cloud: IdentityCloud, who: str, query: str = "") -> set[str]:
    reply = cloud.call("GET", f"/image/v2/images{query}", who)
    assert reply.status == 200, reply.body
    return {i["name"] for i in reply.body["images"]}


def test_private_images_are_their_projects_only(
    cloud: IdentityCloud, world: dict[str, str]
) -> None:
    assert "member-a-image" in image_names(cloud, "member-a")
    assert "member-a-image" not in image_names(cloud, "member-b")
    theirs = world["member-a-image"]
    assert cloud.call("GET", f"/image/v2/images/{theirs}", "member-b").status == 404
    assert cloud.call("DELETE", f"/image/v2/images/{theirs}", "member-b").status == 404
    assert cloud.call("GET", f"/image/v2/images/{theirs}", "admin").status == 200


def test_booting_another_projects_private_image_is_refused(
    cloud: IdentityCloud, world: dict[str, str]
) -> None:
    server = {"name": "thief", "flavorRef": world["flavor"], "imageRef": world["member-a-image"]}
    reply = cloud.call(
        "POST", "/compute/v2.1/servers", "member-b", {"server": {**server, "networks": "none"}}
    )
    assert reply.status == 400, reply.body
    assert world["member-a-image"] in str(reply.body)


def test_public_images_are_for_everyone_but_only_admins_publish(cloud: IdentityCloud) -> None:
    refused = cloud.call(
        "POST",
        "/image/v2/images",
        "member-a",
        {"name": "pub", **IMAGE_BODY, "visibility": "public"},
    )
    assert refused.status == 403
    assert "publicize_image" in str(refused.body)
    public = make_image(cloud, "admin", "admin-public", visibility="public")
    for who in ("member-a", "member-b"):
        assert "admin-public" in image_names(cloud, who)
        assert cloud.call("GET", f"/image/v2/images/{public}", who).status == 200
    edit = [{"op": "replace", "path": "/name", "value": "mine-now"}]
    patched = cloud.call(
        "PATCH",
        f"/image/v2/images/{public}",
        "member-b",
        edit,
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert patched.status == 403


def test_community_images_are_shown_but_listed_only_on_request(cloud: IdentityCloud) -> None:
    community = make_image(cloud, "member-a", "a-community", visibility="community")
    assert "a-community" not in image_names(cloud, "member-b")
    assert "a-community" in image_names(cloud, "member-b", "?visibility=community")
    assert cloud.call("GET", f"/image/v2/images/{community}", "member-b").status == 200
