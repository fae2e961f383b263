"""Server groups over the Compute API (shapes per microversion, errors) and the
scheduler hints of a boot: membership recorded with the server, unknown hints and
unknown groups refused with a 400 naming them."""

from __future__ import annotations

from typing import Any

import pytest

from support.api_apps import Apps, Client
from virtfleet.db import server_groups, servers

IMG = "11111111-1111-1111-1111-111111111111"
GROUPS = "/v2.1/os-server-groups"
MEMBER = {"X-Project-Id": "p-other", "X-Roles": "member"}


@pytest.fixture
def world(apps: Apps) -> Apps:
    c = apps.compute()
    c.post("/v2.1/flavors", {"flavor": {"name": "small", "id": "f1", "ram": 512, "vcpus": 1}})
    i = apps.image()
    i.post("/v2/images", {"id": IMG, "name": "img", "disk_format": "raw",
                          "container_format": "bare"})  # fmt: skip
    i.request("PUT", f"/v2/images/{IMG}/file", raw=b"x" * 64,
              content_type="application/octet-stream")  # fmt: skip
    return apps


def create(c: Client, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    reply = c.post(GROUPS, {"server_group": body})
    assert reply.status == status, reply.body
    found: dict[str, Any] = reply.json
    return found


def boot(c: Client, name: str, **top: Any) -> Any:
    body = {"server": {"name": name, "flavorRef": "f1", "imageRef": IMG, "networks": "none"}}
    return c.post("/v2.1/servers", {**body, **top})


def test_group_shapes_per_microversion(world: Apps) -> None:
    new = world.compute("2.64")
    made = create(new, {"name": "web", "policy": "anti-affinity",
                        "rules": {"max_server_per_host": 2}})["server_group"]  # fmt: skip
    assert made["policy"] == "anti-affinity" and made["rules"] == {"max_server_per_host": 2}
    assert made["members"] == [] and "policies" not in made
    old = world.compute("2.1")
    shown = old.get(f"{GROUPS}/{made['id']}").json["server_group"]
    assert shown["policies"] == ["anti-affinity"] and "policy" not in shown
    assert "project_id" not in shown  # 2.13
    soft = create(world.compute("2.15"), {"name": "s", "policies": ["soft-affinity"]})
    assert soft["server_group"]["policies"] == ["soft-affinity"]
    listed = world.compute().get(GROUPS).json["server_groups"]
    assert [g["name"] for g in listed] == ["web", "s"]
    assert world.compute().delete(f"{GROUPS}/{made['id']}").status == 204
    assert world.compute().get(f"{GROUPS}/{made['id']}").status == 404


@pytest.mark.parametrize(
    ("version", "body", "wanted"),
    [
        ("2.64", {"name": "g", "policy": "sideways"}, "Invalid server group policy 'sideways'"),
        ("2.1", {"name": "g", "policies": ["soft-affinity"]}, "need microversion 2.15"),
        ("2.64", {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}},
         "apply only to policy anti-affinity"),
        ("2.64", {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}},
         "max_server_per_host"),
        ("2.64", {"name": "g", "policy": "anti-affinity", "rules": {"spread": 1}},
         "only max_server_per_host is known"),
        ("2.64", {"name": "g", "policies": ["affinity"]}, "('policies' unexpected)"),
        ("2.64", {"name": "g"}, "'name' and 'policy' are required"),
        ("2.1", {"name": "g", "policies": ["affinity", "anti-affinity"]}, "one policy"),
    ],
)  # fmt: skip
def test_bad_groups_are_refused_naming_the_field(
    world: Apps, version: str, body: dict[str, Any], wanted: str
) -> None:
    reply = world.compute(version).post(GROUPS, {"server_group": body})
    assert reply.status == 400, reply.body
    assert wanted in reply.json["badRequest"]["message"]


def test_another_projects_group_is_not_found(world: Apps) -> None:
    made = create(world.compute(), {"name": "web", "policy": "affinity"})["server_group"]
    other = Client(world.compute_app, "/compute", {**MEMBER,
                   "OpenStack-API-Version": "compute 2.64"})  # fmt: skip
    assert other.get(f"{GROUPS}/{made['id']}").status == 404
    assert other.delete(f"{GROUPS}/{made['id']}").status == 404
    assert other.get(GROUPS).json["server_groups"] == []
    assert other.get(f"{GROUPS}?all_projects=True").status == 403
    reply = boot(other, "vm", **{"os:scheduler_hints": {"group": made["id"]}})
    assert reply.status == 400
    assert f"server group {made['id']} could not be found" in reply.json["badRequest"]["message"]


def test_boot_with_group_hint_records_membership_and_the_hints(world: Apps) -> None:
    c = world.compute()
    group = create(c, {"name": "web", "policy": "anti-affinity"})["server_group"]
    reply = boot(c, "vm1", **{"os:scheduler_hints": {"group": group["id"]}})
    assert reply.status == 202, reply.body
    uuid = reply.json["server"]["id"]
    assert c.get(f"{GROUPS}/{group['id']}").json["server_group"]["members"] == [uuid]
    assert servers.get(world.db, uuid).scheduler_hints == {"group": group["id"]}
    other = boot(c, "vm2", **{"os:scheduler_hints": {"different_host": [uuid]}})
    assert other.status == 202, other.body
    stored = servers.get(world.db, other.json["server"]["id"]).scheduler_hints
    assert stored == {"different_host": [uuid]}


@pytest.mark.parametrize(
    ("hints", "wanted"),
    [
        ({"query": "[\">=\", \"$free_ram_mb\", 1024]"}, "Unknown scheduler hint(s) query"),
        ({"build_near_host_ip": "192.0.2.1", "cidr": "/24"},
         "Unknown scheduler hint(s) build_near_host_ip, cidr"),
        ({"group": "not-a-uuid"}, "Invalid scheduler hint group: 'not-a-uuid'"),
        ({"same_host": ["x"]}, "Invalid scheduler hint same_host: 'x'"),
        ({"group": "8d4c1f3e-2b8a-4f0e-9c55-0c6f7c2d1a10"},
         "server group 8d4c1f3e-2b8a-4f0e-9c55-0c6f7c2d1a10 could not be found"),
        ("group=x", "expected an object"),
    ],
)  # fmt: skip
def test_bad_hints_are_refused_and_leave_nothing(world: Apps, hints: Any, wanted: str) -> None:
    reply = boot(world.compute(), "vm", **{"os:scheduler_hints": hints})
    assert reply.status == 400, reply.body
    assert wanted in reply.json["badRequest"]["message"]
    assert servers.list_servers(world.db) == []
    assert world.conductor.calls == []


def test_a_create_refused_after_the_group_check_leaves_no_member(world: Apps) -> None:
    c = world.compute()
    group = create(c, {"name": "web", "policy": "affinity"})["server_group"]
    c.delete(f"{GROUPS}/{group['id']}")
    reply = boot(c, "vm", **{"os:scheduler_hints": {"group": group["id"]}})
    assert reply.status == 400
    assert server_groups.list_groups(world.db) == []
    assert servers.list_servers(world.db) == []
