"""Image tags one at a time (PUT/DELETE /v2/images/{id}/tags/{tag}) and os_hidden
(hidden images are left out of lists unless os_hidden=true asks for them), as Glance."""

from __future__ import annotations

from typing import Any

from support.api_apps import Apps, Client
from virtfleet.api.policy.enforcer import Authorizer, with_authorizer
from virtfleet.conf import make_conf
from virtfleet.image import service

PATCH = "application/openstack-images-v2.1-json-patch"


def listed(c: Client, query: str = "") -> list[str]:
    reply = c.get(f"/v2/images{query}")
    assert reply.status == 200, reply.body
    return [i["name"] for i in reply.json["images"]]


def test_tags_are_added_once_and_removed(apps: Apps) -> None:
    c = apps.image()
    image_id = c.post("/v2/images", {"name": "t", "tags": ["a"]}).json["id"]
    assert c.put(f"/v2/images/{image_id}/tags/b", None).status == 204
    assert c.put(f"/v2/images/{image_id}/tags/b", None).status == 204  # again: no change
    assert c.get(f"/v2/images/{image_id}").json["tags"] == ["a", "b"]
    assert listed(c, "?tag=b") == ["t"]
    assert c.delete(f"/v2/images/{image_id}/tags/a").status == 204
    assert c.get(f"/v2/images/{image_id}").json["tags"] == ["b"]
    missing = c.delete(f"/v2/images/{image_id}/tags/a")
    assert missing.status == 404 and missing.json["message"] == (
        f"Tag a not found on image {image_id}."
    )
    assert c.put("/v2/images/no-such-image/tags/a", None).status == 404
    too_long = c.put(f"/v2/images/{image_id}/tags/{'x' * 256}", None)
    assert too_long.status == 400 and "1 to 255 characters" in too_long.json["message"]


def test_an_image_holds_at_most_128_tags(apps: Apps) -> None:
    c = apps.image()
    tags = [f"t{i}" for i in range(service.MAX_TAGS)]
    image_id = c.post("/v2/images", {"name": "many", "tags": tags}).json["id"]
    reply = c.put(f"/v2/images/{image_id}/tags/one-more", None)
    assert reply.status == 413, reply.body
    assert "Attempted: 129, Maximum: 128" in reply.json["message"]
    assert c.put(f"/v2/images/{image_id}/tags/t0", None).status == 204  # has it already
    over = c.post("/v2/images", {"name": "over", "tags": [*tags, "x"]})
    assert over.status == 413 and "Attempted: 129, Maximum: 128" in over.json["message"]
    ops = [{"op": "replace", "path": "/tags", "value": [*tags, "x"]}]
    patched = c.patch(f"/v2/images/{image_id}", ops, content_type=PATCH)
    assert patched.status == 413, patched.body
    assert len(c.get(f"/v2/images/{image_id}").json["tags"]) == service.MAX_TAGS


def test_tags_of_another_projects_image_are_refused(apps: Apps) -> None:
    app = with_authorizer(apps.image_app, Authorizer(make_conf(api__auth_strategy="noauth")))

    def client(roles: str, project: str) -> Client:
        return Client(app, "/image", {"X-Roles": roles, "X-Project-Id": project})

    owner = client("member", "owner")
    image_id = owner.post("/v2/images", {"name": "pub", "visibility": "community"}).json["id"]
    assert client("member", "other").put(f"/v2/images/{image_id}/tags/x", None).status == 403
    assert client("reader", "owner").put(f"/v2/images/{image_id}/tags/x", None).status == 403
    assert owner.put(f"/v2/images/{image_id}/tags/x", None).status == 204
    assert client("member", "other").delete(f"/v2/images/{image_id}/tags/x").status == 403


def test_hidden_images_are_listed_only_when_asked_for(apps: Apps) -> None:
    c = apps.image()
    shown = c.post("/v2/images", {"name": "shown"}).json
    hidden = c.post("/v2/images", {"name": "hidden", "os_hidden": True}).json
    assert shown["os_hidden"] is False and hidden["os_hidden"] is True
    assert listed(c) == ["shown"]
    assert listed(c, "?os_hidden=false") == ["shown"]
    assert listed(c, "?os_hidden=true") == ["hidden"]
    assert c.get(f"/v2/images/{hidden['id']}").json["name"] == "hidden"  # shown by id
    ops: list[dict[str, Any]] = [{"op": "replace", "path": "/os_hidden", "value": False}]
    assert c.patch(f"/v2/images/{hidden['id']}", ops, content_type=PATCH).status == 200
    assert sorted(listed(c)) == ["hidden", "shown"]
    bad = c.get("/v2/images?os_hidden=maybe")
    assert bad.status == 400 and bad.json["message"] == (
        "Invalid value 'maybe' for 'os_hidden' filter. Valid values are 'true' or 'false'."
    )
    not_bool = c.post("/v2/images", {"name": "x", "os_hidden": "yes"})
    assert not_bool.status == 400 and "os_hidden" in not_bool.json["message"]
