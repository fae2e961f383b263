"""Flavors and extra specs over the Compute API."""

from __future__ import annotations

import pytest

from support.api_apps import Apps, Client


def create_flavor(c: Client, name: str = "small", **extra: object) -> dict[str, object]:
    body = {"name": name, "ram": 1024, "vcpus": 2, "disk": 5, **extra}
    reply = c.post("/v2.1/flavors", {"flavor": body})
    assert reply.status == 200, reply.body
    flavor: dict[str, object] = reply.json["flavor"]
    return flavor


def test_create_show_list_delete(apps: Apps) -> None:
    c = apps.compute()
    flavor = create_flavor(c, id="f1", description="two cpus")
    assert flavor["id"] == "f1"
    assert flavor["ram"] == 1024 and flavor["vcpus"] == 2 and flavor["disk"] == 5
    assert flavor["os-flavor-access:is_public"] is True
    assert flavor["description"] == "two cpus"
    assert flavor["extra_specs"] == {}
    assert c.get("/v2.1/flavors/f1").json["flavor"]["name"] == "small"
    assert c.get("/v2.1/flavors").json["flavors"][0].keys() == {
        "id",
        "name",
        "links",
        "description",
    }
    assert [f["id"] for f in c.get("/v2.1/flavors/detail").json["flavors"]] == ["f1"]
    assert c.delete("/v2.1/flavors/f1").status == 202
    assert c.get("/v2.1/flavors/f1").status == 404


def test_generated_id_and_integer_id(apps: Apps) -> None:
    c = apps.compute()
    assert len(str(create_flavor(c, "a")["id"])) == 36
    assert create_flavor(c, "b", id=7)["id"] == "7"


def test_old_microversion_shapes(apps: Apps) -> None:
    create_flavor(apps.compute(), id="f1")
    old = apps.compute("2.1").get("/v2.1/flavors/f1").json["flavor"]
    assert "description" not in old and "extra_specs" not in old
    assert old["swap"] == ""
    assert apps.compute("2.75").get("/v2.1/flavors/f1").json["flavor"]["swap"] == 0


def test_list_filters_and_paging(apps: Apps) -> None:
    c = apps.compute()
    create_flavor(c, "a", id="a", ram=512)
    create_flavor(c, "b", id="b", ram=2048, disk=20)
    create_flavor(c, "c", id="c", ram=4096, **{"os-flavor-access:is_public": False})
    ids = lambda q: [f["id"] for f in c.get("/v2.1/flavors" + q).json["flavors"]]  # noqa: E731
    assert ids("?minRam=1024&is_public=None") == ["b", "c"]
    assert ids("?minDisk=10") == ["b"]
    assert ids("?is_public=true") == ["a", "b"]
    assert ids("?is_public=false") == ["c"]
    assert ids("?limit=1&marker=a") == ["b"]
    assert c.get("/v2.1/flavors?marker=zzz").status == 400
    assert c.get("/v2.1/flavors?minRam=x").status == 400


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x", "ram": 0, "vcpus": 1}, "ram"),
        ({"name": "x", "ram": "lots", "vcpus": 1}, "ram"),
        ({"name": "x", "ram": 512, "vcpus": 0}, "vcpus"),
        ({"name": "x", "ram": 512, "vcpus": 1, "disk": -1}, "disk"),
        ({"name": "", "ram": 512, "vcpus": 1}, "name"),
        ({"ram": 512, "vcpus": 1}, "required"),
        ({"name": "x", "ram": 512, "vcpus": 1, "colour": "red"}, "'colour'"),
        ({"name": "x", "ram": 512, "vcpus": 1, "rxtx_factor": 0}, "rxtx_factor"),
        ({"name": "x", "ram": 512, "vcpus": 1, "id": "a/b"}, "Invalid flavor id"),
        ({"name": "x", "ram": 512, "vcpus": 1, "os-flavor-access:is_public": "maybe"}, "is_public"),
    ],
)
def test_create_rejects_bad_bodies(apps: Apps, body: dict[str, object], fragment: str) -> None:
    reply = apps.compute().post("/v2.1/flavors", {"flavor": body})
    assert reply.status == 400
    assert fragment in reply.json["badRequest"]["message"]


def test_duplicate_name_or_id_is_409(apps: Apps) -> None:
    c = apps.compute()
    create_flavor(c, "small", id="f1")
    dup_name = c.post("/v2.1/flavors", {"flavor": {"name": "small", "ram": 1, "vcpus": 1}})
    assert dup_name.status == 409
    assert "small" in dup_name.json["conflictingRequest"]["message"]
    dup_id = c.post(
        "/v2.1/flavors", {"flavor": {"name": "other", "ram": 1, "vcpus": 1, "id": "f1"}}
    )
    assert dup_id.status == 409


def test_malformed_json_and_wrong_root(apps: Apps) -> None:
    c = apps.compute()
    reply = c.post("/v2.1/flavors", raw=b"{not json")
    assert reply.status == 400 and "Malformed request body" in reply.json["badRequest"]["message"]
    assert c.post("/v2.1/flavors", {"flavour": {}}).status == 400
    assert c.post("/v2.1/flavors", raw=b"").status == 400


def test_update_description_needs_2_55(apps: Apps) -> None:
    create_flavor(apps.compute(), id="f1")
    reply = apps.compute().put("/v2.1/flavors/f1", {"flavor": {"description": "new"}})
    assert reply.status == 200 and reply.json["flavor"]["description"] == "new"
    old = apps.compute("2.54").put("/v2.1/flavors/f1", {"flavor": {"description": "x"}})
    assert old.status == 405
    assert apps.compute().put("/v2.1/flavors/f1", {"flavor": {"name": "x"}}).status == 400


def test_unknown_flavor_is_404_and_wrong_method_405(apps: Apps) -> None:
    c = apps.compute()
    reply = c.get("/v2.1/flavors/nope")
    assert reply.status == 404
    assert "nope" in reply.json["itemNotFound"]["message"]
    assert c.delete("/v2.1/flavors/nope").status == 404
    wrong = c.request("PATCH", "/v2.1/flavors/nope")
    assert wrong.status == 405 and "badMethod" in wrong.json
    assert "GET" in wrong.headers["Allow"]


def test_non_admin_cannot_create(apps: Apps) -> None:
    reply = apps.compute().post(
        "/v2.1/flavors",
        {"flavor": {"name": "x", "ram": 1, "vcpus": 1}},
        headers={"X-Roles": "member"},
    )
    assert reply.status == 403 and "forbidden" in reply.json


# ----------------------------------------------------------------------- extra specs


def test_extra_specs_crud(apps: Apps) -> None:
    c = apps.compute()
    create_flavor(c, id="f1")
    specs = "/v2.1/flavors/f1/os-extra_specs"
    reply = c.post(specs, {"extra_specs": {"hw:cpu_policy": "dedicated", "vendor:x": 5}})
    assert reply.status == 200
    assert reply.json == {"extra_specs": {"hw:cpu_policy": "dedicated", "vendor:x": "5"}}
    assert c.get(specs).json["extra_specs"] == {"hw:cpu_policy": "dedicated", "vendor:x": "5"}
    assert c.get(f"{specs}/vendor:x").json == {"vendor:x": "5"}
    assert c.put(f"{specs}/vendor:x", {"vendor:x": "6"}).json == {"vendor:x": "6"}
    assert c.get("/v2.1/flavors/f1").json["flavor"]["extra_specs"]["vendor:x"] == "6"
    assert c.delete(f"{specs}/vendor:x").status == 200
    assert c.get(f"{specs}/vendor:x").status == 404
    assert c.delete(f"{specs}/vendor:x").status == 404


def test_put_body_must_match_uri(apps: Apps) -> None:
    c = apps.compute()
    create_flavor(c, id="f1")
    reply = c.put("/v2.1/flavors/f1/os-extra_specs/a:b", {"c:d": "1"})
    assert reply.status == 400 and "mismatch" in reply.json["badRequest"]["message"]
    assert c.put("/v2.1/flavors/f1/os-extra_specs/a:b", {"a:b": "1", "c": "2"}).status == 400


@pytest.mark.parametrize(
    ("specs", "fragment"),
    [
        ({"hw:maxphysaddr_mode": "bogus"}, "hw:maxphysaddr_mode='bogus': expected one of emulate"),
        ({"hw:maxphysaddr_mode": "emulate"}, "requires maxphysaddr bits"),
        ({"hw:maxphysaddr_mode": "passthrough", "hw:maxphysaddr_bits": "40"}, "not allowed"),
        ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "60"}, "from 32 to 52"),
        ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "20"}, "from 32 to 52"),
        ({"resources:VCPU": "-2"}, "resources:VCPU='-2'"),
        ({"resources:NOT_A_CLASS": "1"}, "not a resource class"),
        ({"trait:HW_CPU_X86_AVX2": "preferred"}, "required, forbidden"),
        ({"trait:BOGUS": "required"}, "not a standard trait"),
        ({"hw:cpu_policy": "pinned"}, "shared, dedicated, mixed"),
        ({"hw:mem_page_size": "huge"}, "small, large, any"),
        ({"group_policy": "whatever"}, "none, isolate"),
        ({"hw:unknown": "1"}, "Unknown extra spec 'hw:unknown'"),
        ({"bad/key": "1"}, "Invalid extra spec key"),
        ({"vendor:x": ["a"]}, "values must be strings or numbers"),
        ({"vendor:x": "v" * 256}, "longer than 255"),
    ],
)
def test_invalid_extra_specs_are_400(apps: Apps, specs: dict[str, object], fragment: str) -> None:
    c = apps.compute()
    create_flavor(c, id="f1")
    reply = c.post("/v2.1/flavors/f1/os-extra_specs", {"extra_specs": specs})
    assert reply.status == 400, reply.body
    assert fragment in reply.json["badRequest"]["message"]
    assert c.get("/v2.1/flavors/f1/os-extra_specs").json["extra_specs"] == {}


def test_cross_checks_see_specs_already_set(apps: Apps) -> None:
    c = apps.compute()
    create_flavor(c, id="f1")
    specs = "/v2.1/flavors/f1/os-extra_specs"
    ok = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"}
    assert c.post(specs, {"extra_specs": ok}).status == 200
    passthrough = c.put(f"{specs}/hw:maxphysaddr_mode", {"hw:maxphysaddr_mode": "passthrough"})
    assert passthrough.status == 400 and "not allowed" in passthrough.json["badRequest"]["message"]
    removing_bits = c.delete(f"{specs}/hw:maxphysaddr_bits")
    assert removing_bits.status == 400
    assert c.get(specs).json["extra_specs"] == ok


def test_extra_specs_of_unknown_flavor_are_404(apps: Apps) -> None:
    c = apps.compute()
    assert c.get("/v2.1/flavors/nope/os-extra_specs").status == 404
    assert c.post("/v2.1/flavors/nope/os-extra_specs", {"extra_specs": {"a": "b"}}).status == 404
