"""Image members as in Glance v2: the owner shares a ``shared`` image with a project,
the project accepts or rejects it; members see it, list it once accepted, may not
change membership of others; non-owners cannot share."""

from __future__ import annotations

from support.api_apps import Apps, Client

OWNER = {"X-Project-Id": "owner", "X-Roles": "member"}
GUEST = {"X-Project-Id": "guest", "X-Roles": "member"}
STRANGER = {"X-Project-Id": "stranger", "X-Roles": "member"}
IMAGE = {"disk_format": "raw", "container_format": "bare", "visibility": "shared"}


def listed(c: Client, headers: dict[str, str], query: str = "") -> set[str]:
    reply = c.get(f"/v2/images{query}", headers=headers)
    assert reply.status == 200, reply.body
    return {i["id"] for i in reply.json["images"]}


def test_a_shared_image_is_seen_by_members_and_listed_once_accepted(apps: Apps) -> None:
    c = apps.image()
    image_id = c.post("/v2/images", {"name": "base", **IMAGE}, headers=OWNER).json["id"]
    assert c.get(f"/v2/images/{image_id}", headers=GUEST).status == 404

    added = c.post(f"/v2/images/{image_id}/members", {"member": "guest"}, headers=OWNER)
    assert added.status == 200, added.body
    assert added.json["status"] == "pending" and added.json["member_id"] == "guest"
    assert c.get(f"/v2/images/{image_id}", headers=GUEST).status == 200
    assert image_id not in listed(c, GUEST)
    assert image_id in listed(c, GUEST, "?member_status=pending")
    assert c.get(f"/v2/images/{image_id}", headers=STRANGER).status == 404

    accepted = c.put(f"/v2/images/{image_id}/members/guest", {"status": "accepted"}, headers=GUEST)
    assert accepted.status == 200 and accepted.json["status"] == "accepted", accepted.body
    assert image_id in listed(c, GUEST)
    assert image_id in listed(c, GUEST, "?visibility=shared")

    members = c.get(f"/v2/images/{image_id}/members", headers=OWNER).json["members"]
    assert [m["member_id"] for m in members] == ["guest"]
    own = c.get(f"/v2/images/{image_id}/members", headers=GUEST).json["members"]
    assert [m["member_id"] for m in own] == ["guest"]

    rejected = c.put(f"/v2/images/{image_id}/members/guest", {"status": "rejected"}, headers=GUEST)
    assert rejected.json["status"] == "rejected"
    assert image_id not in listed(c, GUEST)
    assert image_id in listed(c, GUEST, "?member_status=all")

    assert c.delete(f"/v2/images/{image_id}/members/guest", headers=OWNER).status == 204
    assert c.get(f"/v2/images/{image_id}", headers=GUEST).status == 404


def test_membership_is_the_owners_to_give_and_the_members_to_accept(apps: Apps) -> None:
    c = apps.image()
    image_id = c.post("/v2/images", {"name": "base", **IMAGE}, headers=OWNER).json["id"]
    c.post(f"/v2/images/{image_id}/members", {"member": "guest"}, headers=OWNER)
    # the member cannot add others nor remove itself; the owner cannot accept for it
    by_guest = c.post(f"/v2/images/{image_id}/members", {"member": "x"}, headers=GUEST)
    assert by_guest.status == 403
    assert c.delete(f"/v2/images/{image_id}/members/guest", headers=GUEST).status == 403
    for_guest = c.put(f"/v2/images/{image_id}/members/guest", {"status": "accepted"}, headers=OWNER)
    assert for_guest.status == 403
    assert "guest" in for_guest.json["message"]
    # bad input names what is wrong
    bad = c.put(f"/v2/images/{image_id}/members/guest", {"status": "maybe"}, headers=GUEST)
    assert bad.status == 400 and "maybe" in bad.json["message"]
    assert c.post(f"/v2/images/{image_id}/members", {}, headers=OWNER).status == 400
    again = c.post(f"/v2/images/{image_id}/members", {"member": "guest"}, headers=OWNER)
    assert again.status == 409
    # a stranger sees nothing of it
    assert c.get(f"/v2/images/{image_id}/members", headers=STRANGER).status == 404


def test_only_shared_images_have_members(apps: Apps) -> None:
    c = apps.image()
    body = {**IMAGE, "visibility": "private"}
    image_id = c.post("/v2/images", body, headers=OWNER).json["id"]
    refused = c.post(f"/v2/images/{image_id}/members", {"member": "guest"}, headers=OWNER)
    assert refused.status == 403
    assert "only shared images have members" in refused.json["message"]
