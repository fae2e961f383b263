"""Servers over the Compute API: create validation, views per microversion, list,
delete, actions and the domain XML extension."""

from __future__ import annotations

from typing import Any

import pytest

from support.api_apps import Apps, Client
from virtfleet import errors
from virtfleet.db import servers
from virtfleet.objects.guest_request import GuestRequest

IMG = "11111111-1111-1111-1111-111111111111"
EMPTY = "22222222-2222-2222-2222-222222222222"


def boot(c: Client, **extra: Any) -> dict[str, Any]:
    body = {"name": "vm", "flavorRef": "f1", "imageRef": IMG, "networks": "none", **extra}
    reply = c.post("/v2.1/servers", {"server": body})
    assert reply.status == 202, reply.body
    server: dict[str, Any] = reply.json["server"]
    return server


def test_create_then_show_active(world: Apps) -> None:
    c = world.compute()
    created = boot(c, metadata={"role": "db"})
    assert world.conductor.calls == [("build_server", (created["id"],))]
    shown = c.get(f"/v2.1/servers/{created['id']}").json["server"]
    assert shown["status"] == "ACTIVE"
    assert shown["OS-EXT-STS:vm_state"] == "active"
    assert shown["OS-EXT-STS:power_state"] == 1
    assert shown["OS-EXT-SRV-ATTR:host"] == "kvm-a"
    assert shown["OS-EXT-SRV-ATTR:instance_name"] == f"vf-{created['id']}"
    assert shown["metadata"] == {"role": "db"}
    assert shown["image"]["id"] == IMG
    assert shown["addresses"] == {}
    assert len(shown["hostId"]) == 56
    assert shown["flavor"]["original_name"] == "small"
    assert shown["flavor"]["ram"] == 1024
    assert shown["pinned_availability_zone"] is None
    assert shown["server_groups"] == []


def test_server_keeps_flavor_and_image_snapshots(world: Apps) -> None:
    c = world.compute()
    c.post("/v2.1/flavors/f1/os-extra_specs", {"extra_specs": {"hw:cpu_policy": "dedicated"}})
    created = boot(c)
    c.post("/v2.1/flavors/f1/os-extra_specs", {"extra_specs": {"hw:cpu_policy": "shared"}})
    record = servers.get(world.db, created["id"])
    assert record.flavor["extra_specs"] == {"hw:cpu_policy": "dedicated"}
    assert record.image["properties"] == {"hw_architecture": "x86_64"}
    assert record.image["id"] == IMG


@pytest.mark.parametrize(
    ("version", "present", "absent"),
    [
        ("2.1", {"OS-EXT-SRV-ATTR:host"}, {"locked", "OS-EXT-SRV-ATTR:hostname", "tags"}),
        ("2.3", {"OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:root_device_name"}, {"locked"}),
        ("2.9", {"locked"}, {"host_status"}),
        ("2.16", {"host_status"}, {"description"}),
        ("2.19", {"description"}, {"tags"}),
        ("2.26", {"tags"}, {"trusted_image_certificates"}),
        ("2.63", {"trusted_image_certificates"}, {"server_groups"}),
        ("2.71", {"server_groups"}, {"locked_reason"}),
        ("2.73", {"locked_reason"}, {"pinned_availability_zone"}),
        ("2.96", {"pinned_availability_zone"}, set()),
    ],
)
def test_fields_follow_the_microversion(
    world: Apps, version: str, present: set[str], absent: set[str]
) -> None:
    server_id = boot(world.compute())["id"]
    shown = world.compute(version).get(f"/v2.1/servers/{server_id}").json["server"]
    assert present <= shown.keys()
    assert not absent & shown.keys()


def test_flavor_is_a_link_before_2_47(world: Apps) -> None:
    server_id = boot(world.compute())["id"]
    old = world.compute("2.46").get(f"/v2.1/servers/{server_id}").json["server"]
    assert old["flavor"]["id"] == "f1" and old["flavor"]["links"]
    new = world.compute("2.47").get(f"/v2.1/servers/{server_id}").json["server"]
    assert new["flavor"]["vcpus"] == 2 and "id" not in new["flavor"]


def test_error_state_shows_the_fault(world: Apps) -> None:
    world.conductor.fail_builds = "No valid host: no x86_64 host with 42 bits"
    server_id = boot(world.compute())["id"]
    shown = world.compute().get(f"/v2.1/servers/{server_id}").json["server"]
    assert shown["status"] == "ERROR"
    assert shown["fault"]["code"] == 500
    assert shown["fault"]["message"].startswith("No valid host")
    assert shown["fault"]["details"] == "no host"
    assert shown["fault"]["created"].endswith("Z")
    member = world.compute().get(f"/v2.1/servers/{server_id}", headers={"X-Roles": "member"})
    assert "details" not in member.json["server"]["fault"]
    assert "OS-EXT-SRV-ATTR:host" not in member.json["server"]


def test_set_fault_writes_state_and_fault_together(world: Apps) -> None:
    server = servers.create(
        world.db,
        guest_request=GuestRequest(),
        name="vm",
        flavor={},
        image_ref="i",
        image={},
        project_id="p",
        user_id="u",
    )
    failed = servers.set_fault(
        world.db, server.uuid, "No valid host", 500, "details", vm_state="error", task_state=None
    )
    assert (failed.vm_state, failed.task_state) == ("error", None)
    assert failed.fault is not None and failed.fault["message"] == "No valid host"
    with pytest.raises(errors.InvalidInput, match="Cannot update server field"):
        servers.set_fault(world.db, server.uuid, "x", bogus=1)


def test_build_status_while_the_conductor_has_not_finished(world: Apps) -> None:
    server = servers.create(
        world.db,
        guest_request=GuestRequest(),
        name="pending",
        flavor={"id": "f1"},
        image_ref=IMG,
        image={},
        project_id="p",
        user_id="u",
    )
    shown = world.compute().get(f"/v2.1/servers/{server.uuid}").json["server"]
    assert shown["status"] == "BUILD"
    assert shown["OS-EXT-STS:task_state"] == "scheduling"


def test_list_and_detail_with_filters(world: Apps) -> None:
    c = world.compute()
    a = boot(c, name="web-1")["id"]
    b = boot(c, name="db-1")["id"]
    assert {s["id"] for s in c.get("/v2.1/servers").json["servers"]} == {a, b}
    assert c.get("/v2.1/servers").json["servers"][0].keys() == {"id", "name", "links"}
    detail = c.get("/v2.1/servers/detail?name=^web").json["servers"]
    assert [s["id"] for s in detail] == [a] and detail[0]["status"] == "ACTIVE"
    assert c.get("/v2.1/servers/detail?status=SHUTOFF").json["servers"] == []
    assert len(c.get("/v2.1/servers?flavor=f1").json["servers"]) == 2
    paged = c.get("/v2.1/servers?limit=1").json
    assert len(paged["servers"]) == 1 and "marker=" in paged["servers_links"][0]["href"]
    assert c.get("/v2.1/servers?name=(").status == 400
    assert c.get("/v2.1/servers?marker=nope").status == 400


@pytest.mark.parametrize(
    ("server", "status", "fragment"),
    [
        (
            {"name": "vm", "flavorRef": "nope", "imageRef": IMG},
            400,
            "Flavor nope could not be found",
        ),
        (
            {"name": "vm", "flavorRef": "f1", "imageRef": "33333333-3333-3333-3333-333333333333"},
            400,
            "Image 33333333-3333-3333-3333-333333333333 could not be found",
        ),
        ({"name": "vm", "flavorRef": "f1", "imageRef": EMPTY}, 400, "has no data"),
        ({"name": "vm", "flavorRef": "f1"}, 400, "imageRef is required"),
        ({"flavorRef": "f1", "imageRef": IMG}, 400, "name"),
        ({"name": "vm", "imageRef": IMG}, 400, "flavorRef"),
        ({"name": "vm", "flavorRef": "f1", "imageRef": IMG, "min_count": 2}, 400, "min_count=2"),
        ({"name": "vm", "flavorRef": "f1", "imageRef": IMG, "networks": 5}, 400, "networks"),
        (
            {"name": "vm", "flavorRef": "f1", "imageRef": IMG, "networks": [{"uuid": "n"}]},
            400,
            "Network n could not be found",
        ),
        (
            {"name": "vm", "flavorRef": "f1", "imageRef": IMG, "networks": [{"port": "p"}]},
            400,
            "Port p could not be found",
        ),
        (
            {
                "name": "vm",
                "flavorRef": "f1",
                "imageRef": IMG,
                "networks": [{"uuid": "n", "fixed_ip": "1.2.3"}],
            },
            400,
            "Invalid fixed IP address (1.2.3)",
        ),
        ({"name": "vm", "flavorRef": "f1", "imageRef": IMG, "user_data": "#!"}, 400, "base64"),
        (
            {"name": "vm", "flavorRef": "f1", "imageRef": IMG, "description": "d" * 256},
            400,
            "description",
        ),
        (
            {
                "name": "vm",
                "flavorRef": "f1",
                "imageRef": IMG,
                "security_groups": [{"name": "web"}],
            },
            400,
            "security_groups",
        ),
        ({"name": "vm", "flavorRef": "f1", "imageRef": IMG, "metadata": ["a"]}, 400, "metadata"),
        ({"name": "vm", "flavorRef": "f1", "imageRef": IMG, "metadata": {"a": 1}}, 400, "metadata"),
        ({"name": "vm", "flavorRef": "f1", "imageRef": IMG, "colour": "red"}, 400, "'colour'"),
        (
            {"name": "vm", "flavorRef": "f1", "imageRef": IMG, "availability_zone": "az9"},
            400,
            "az9",
        ),
        ({"name": "vm", "flavorRef": "f1", "imageRef": IMG, "key_name": "mykey"}, 400, "mykey"),
        (
            {
                "name": "vm",
                "flavorRef": "f1",
                "imageRef": IMG,
                "block_device_mapping_v2": [{"source_type": "volume", "uuid": "v"}],
            },
            400,
            "block_device_mapping_v2",
        ),
        (
            {
                "name": "vm",
                "flavorRef": "f1",
                "imageRef": IMG,
                "metadata": {str(i): "x" for i in range(129)},
            },
            403,
            "metadata items",
        ),
    ],
)
def test_create_rejects(world: Apps, server: dict[str, Any], status: int, fragment: str) -> None:
    reply = world.compute().post("/v2.1/servers", {"server": server})
    assert reply.status == status, reply.body
    message = next(iter(reply.json.values()))["message"]
    assert fragment in message
    assert world.conductor.calls == []
    assert servers.list_servers(world.db) == []


def test_create_accepts_the_cli_image_boot_mapping_and_urls(world: Apps) -> None:
    mapping = [
        {
            "uuid": IMG,
            "boot_index": 0,
            "source_type": "image",
            "destination_type": "local",
            "delete_on_termination": True,
        }
    ]
    boot(
        world.compute(),
        imageRef=f"http://x/images/{IMG}",
        flavorRef="http://x/flavors/f1",
        block_device_mapping_v2=mapping,
        min_count=1,
        max_count="1",
        networks="auto",
        security_groups=[{"name": "default"}],
        config_drive=False,
    )
    other = [{**mapping[0], "uuid": EMPTY}]
    reply = world.compute().post(
        "/v2.1/servers",
        {
            "server": {
                "name": "vm",
                "flavorRef": "f1",
                "imageRef": IMG,
                "block_device_mapping_v2": other,
            }
        },
    )
    assert reply.status == 400 and "same image" in reply.json["badRequest"]["message"]


def set_image_props(world: Apps, props: dict[str, str]) -> None:
    patch = [{"op": "add", "path": f"/{k}", "value": v} for k, v in props.items()]
    reply = world.image().patch(
        f"/v2/images/{IMG}", patch, content_type="application/openstack-images-v2.1-json-patch"
    )
    assert reply.status == 200, reply.body


def set_specs(world: Apps, specs: dict[str, str]) -> None:
    reply = world.compute().post("/v2.1/flavors/f1/os-extra_specs", {"extra_specs": specs})
    assert reply.status == 200, reply.body


@pytest.mark.parametrize(
    ("specs", "props", "fragment"),
    [
        (
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"},
            {"hw_maxphysaddr_mode": "passthrough"},
            "must agree",
        ),
        (
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"},
            {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "40"},
            "must agree",
        ),
        (
            {"hw:maxphysaddr_mode": "passthrough"},
            {"hw_architecture": "aarch64"},
            "only supported for x86_64 guests, not aarch64",
        ),
        (
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"},
            {"hw_emulation_architecture": "s390x"},
            "only supported for x86_64 guests, not s390x",
        ),
        ({}, {"min_ram": "4096"}, "min_ram"),
    ],
)
def test_flavor_and_image_conflicts_are_400(
    world: Apps, specs: dict[str, str], props: dict[str, str], fragment: str
) -> None:
    if specs:
        set_specs(world, specs)
    if "min_ram" in props:
        reply = world.image().patch(
            f"/v2/images/{IMG}",
            [{"op": "replace", "path": "/min_ram", "value": 4096}],
            content_type="application/openstack-images-v2.1-json-patch",
        )
        assert reply.status == 200
    else:
        set_image_props(world, props)
    reply = world.compute().post(
        "/v2.1/servers", {"server": {"name": "vm", "flavorRef": "f1", "imageRef": IMG}}
    )
    assert reply.status == 400, reply.body
    assert fragment in reply.json["badRequest"]["message"]


def test_the_guest_request_is_resolved_at_boot_and_stored_unchanged(world: Apps) -> None:
    set_specs(world, {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"})
    set_image_props(world, {"hw_machine_type": "q35", "hw_firmware_type": "bios"})
    server_id = boot(world.compute())["id"]
    expected = GuestRequest(
        arch="x86_64",  # the image's hw_architecture
        native_arch="x86_64",
        machine_type="q35",
        firmware="bios",
        maxphysaddr_mode="emulate",
        maxphysaddr_bits=42,
    )
    assert servers.get(world.db, server_id).guest_request == expected
    set_image_props(world, {"hw_machine_type": "pc"})  # later image edits change nothing
    assert servers.get(world.db, server_id).guest_request == expected


def test_image_bigger_than_flavor_disk_is_400(world: Apps) -> None:
    world.compute().post(
        "/v2.1/flavors", {"flavor": {"name": "tiny", "id": "t", "ram": 64, "vcpus": 1, "disk": 1}}
    )
    from virtfleet.db import images

    images.update(world.db, IMG, size=2 << 30)
    reply = world.compute().post(
        "/v2.1/servers", {"server": {"name": "vm", "flavorRef": "t", "imageRef": IMG}}
    )
    assert reply.status == 400 and "too small" in reply.json["badRequest"]["message"]


def test_kernel_boot_without_data_is_accepted(world: Apps) -> None:
    i = world.image()
    kernel = i.post("/v2/images", {"name": "vmlinuz"}).json["id"]
    direct = i.post("/v2/images", {"name": "direct", "kernel_id": kernel}).json["id"]
    boot(world.compute(), imageRef=direct)


def test_delete_hands_over_to_the_conductor(world: Apps) -> None:
    c = world.compute()
    server_id = boot(c)["id"]
    assert c.delete(f"/v2.1/servers/{server_id}").status == 204
    assert ("delete_server", (server_id,)) in world.conductor.calls
    assert c.get(f"/v2.1/servers/{server_id}").status == 404
    assert c.delete(f"/v2.1/servers/{server_id}").status == 404
    assert c.get("/v2.1/servers").json["servers"] == []


def test_paths_with_a_project_id_are_accepted(world: Apps) -> None:
    server_id = boot(world.compute())["id"]
    project = "0123456789abcdef0123456789abcdef"
    reply = world.compute().get(f"/v2.1/{project}/servers/{server_id}")
    assert reply.status == 200 and reply.json["server"]["id"] == server_id


# --------------------------------------------------------------------------- actions


def action(c: Client, server_id: str, body: Any) -> Any:
    return c.post(f"/v2.1/servers/{server_id}/action", body)


def test_stop_start_reboot(world: Apps) -> None:
    c = world.compute()
    server_id = boot(c)["id"]
    assert action(c, server_id, {"os-stop": None}).status == 202
    assert c.get(f"/v2.1/servers/{server_id}").json["server"]["status"] == "SHUTOFF"
    stopped_again = action(c, server_id, {"os-stop": None})
    assert stopped_again.status == 409
    assert "vm_state stopped" in stopped_again.json["conflictingRequest"]["message"]
    assert action(c, server_id, {"reboot": {"type": "SOFT"}}).status == 409
    assert action(c, server_id, {"os-start": None}).status == 202
    assert action(c, server_id, {"os-start": None}).status == 409
    assert action(c, server_id, {"reboot": {"type": "hard"}}).status == 202
    assert action(c, server_id, {"reboot": {"type": "SOFT"}}).status == 202
    names = [name for name, _ in world.conductor.calls]
    assert names == [
        "build_server",
        "stop_server",
        "start_server",
        "reboot_server",
        "reboot_server",
    ]
    assert world.conductor.calls[-2][1] == (server_id, True)
    assert world.conductor.calls[-1][1] == (server_id, False)


def test_action_sets_the_task_state_before_handing_over(world: Apps) -> None:
    c = world.compute()
    server_id = boot(c)["id"]
    seen: list[Any] = []
    world.conductor.stop_server = lambda uuid: seen.append(  # type: ignore[method-assign]
        servers.get(world.db, uuid).task_state
    )
    action(c, server_id, {"os-stop": None})
    assert seen == ["powering-off"]
    busy = action(c, server_id, {"os-start": None})
    assert busy.status == 409


def test_console_output(world: Apps) -> None:
    c = world.compute()
    server_id = boot(c)["id"]
    full = action(c, server_id, {"os-getConsoleOutput": {}})
    assert full.status == 200 and full.json["output"].count("\n") == 9
    tail = action(c, server_id, {"os-getConsoleOutput": {"length": 2}})
    assert tail.json["output"] == "line 8\nline 9"
    assert action(c, server_id, {"os-getConsoleOutput": {"length": -1}}).status == 200
    assert action(c, server_id, {"os-getConsoleOutput": {"length": "x"}}).status == 400
    assert action(c, server_id, {"os-getConsoleOutput": {"length": -5}}).status == 400


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"trigger_crash_dump": None}, "There is no such action: trigger_crash_dump"),
        ({"os-migrateLive": {}}, "'host' is a required property"),
        ({"reboot": {"type": "GENTLE"}}, "must be HARD or SOFT"),
        ({"reboot": None}, "must be HARD or SOFT"),
        ({"os-stop": None, "os-start": None}, "exactly one"),
        ([], "exactly one"),
    ],
)
def test_bad_actions_are_400(world: Apps, body: Any, fragment: str) -> None:
    server_id = boot(world.compute())["id"]
    reply = action(world.compute(), server_id, body)
    assert reply.status == 400
    assert fragment in reply.json["badRequest"]["message"]


def test_actions_on_missing_or_hostless_servers(world: Apps) -> None:
    c = world.compute()
    assert action(c, "nope", {"os-stop": None}).status == 404
    pending = servers.create(
        world.db,
        guest_request=GuestRequest(),
        name="p",
        flavor={},
        image_ref=IMG,
        image={},
        project_id="p",
        user_id="u",
    )
    servers.update(world.db, pending.uuid, vm_state="active", task_state=None)
    reply = action(c, pending.uuid, {"os-stop": None})
    assert reply.status == 409 and "not on a host" in reply.json["conflictingRequest"]["message"]


def test_domain_xml_is_admin_only(world: Apps) -> None:
    c = world.compute()
    server_id = boot(c)["id"]
    reply = c.get(f"/v2.1/servers/{server_id}/os-domain-xml")
    assert reply.status == 200 and server_id in reply.json["domain_xml"]
    member = c.get(f"/v2.1/servers/{server_id}/os-domain-xml", headers={"X-Roles": "member"})
    assert member.status == 403
    assert c.get("/v2.1/servers/nope/os-domain-xml").status == 404
    pending = servers.create(
        world.db,
        guest_request=GuestRequest(),
        name="p",
        flavor={},
        image_ref=IMG,
        image={},
        project_id="p",
        user_id="u",
    )
    assert c.get(f"/v2.1/servers/{pending.uuid}/os-domain-xml").status == 409


def test_unknown_path_and_method(world: Apps) -> None:
    c = world.compute()
    assert c.get("/v2.1/servers/x/y/z").status == 404
    reply = c.request("PUT", "/v2.1/servers")
    assert reply.status == 405 and reply.json["badMethod"]["code"] == 405


def test_members_see_only_their_project(world: Apps) -> None:
    c = world.compute()
    mine = {"X-Roles": "member", "X-Project-Id": "p1"}
    theirs = {"X-Roles": "member", "X-Project-Id": "p2"}
    reply = c.post(
        "/v2.1/servers",
        {"server": {"name": "vm", "flavorRef": "f1", "imageRef": IMG}},
        headers=mine,
    )
    server_id = reply.json["server"]["id"]
    assert c.get(f"/v2.1/servers/{server_id}", headers=mine).json["server"]["tenant_id"] == "p1"
    assert c.get(f"/v2.1/servers/{server_id}", headers=theirs).status == 404
    assert c.delete(f"/v2.1/servers/{server_id}", headers=theirs).status == 404
    assert action(c, server_id, {"os-stop": None}).status == 202  # admins see everything
    assert c.get("/v2.1/servers", headers=theirs).json["servers"] == []
    assert len(c.get("/v2.1/servers", headers=mine).json["servers"]) == 1
    assert c.get("/v2.1/servers").json["servers"] == []  # the admin's own project: none
    assert len(c.get("/v2.1/servers?all_tenants=1").json["servers"]) == 1
    refused = c.get("/v2.1/servers?all_tenants=1", headers=theirs)
    assert refused.status == 403


@pytest.mark.parametrize(
    ("specs", "fragment"),
    [
        ({"trait1:CUSTOM_X": "required"}, "request group needs at least one resource"),
        ({"resources1:VCPU": "1", "resources2:VCPU": "1", "same_subtree": "1,3"}, "unknown: 3"),
    ],
)
def test_flavors_that_make_no_valid_placement_request_are_400(
    world: Apps, specs: dict[str, str], fragment: str
) -> None:
    set_specs(world, specs)
    reply = world.compute().post(
        "/v2.1/servers", {"server": {"name": "vm", "flavorRef": "f1", "imageRef": IMG}}
    )
    assert reply.status == 400, reply.body
    assert fragment in reply.json["badRequest"]["message"]
    assert world.conductor.calls == []


def test_image_property_no_host_trait_can_match_is_400(world: Apps) -> None:
    set_image_props(world, {"hw_video_model": "ramfb"})
    reply = world.compute().post(
        "/v2.1/servers", {"server": {"name": "vm", "flavorRef": "f1", "imageRef": IMG}}
    )
    assert reply.status == 400, reply.body
    assert "hw_video_model='ramfb'" in reply.json["badRequest"]["message"]
    assert "COMPUTE_GRAPHICS_MODEL_RAMFB" in reply.json["badRequest"]["message"]


def test_create_image_queues_a_snapshot_that_inherits_the_image(world: Apps) -> None:
    c = world.compute("2.45")
    server_id = boot(c)["id"]
    body = {"createImage": {"name": "snap", "metadata": {"purpose": "backup"}}}
    reply = c.post(f"/v2.1/servers/{server_id}/action", body)
    assert reply.status == 202, reply.body
    image_id = reply.json["image_id"]
    assert world.conductor.calls[-1] == ("snapshot_server", (server_id, image_id))
    image = world.image().get(f"/v2/images/{image_id}").json
    assert image["name"] == "snap" and image["status"] == "queued"
    assert image["purpose"] == "backup" and image["hw_architecture"] == "x86_64"
    assert (image["image_type"], image["instance_uuid"], image["base_image_ref"]) == (
        "snapshot",
        server_id,
        IMG,
    )

    older = world.compute("2.44").post(f"/v2.1/servers/{server_id}/action", body)
    assert older.status == 202 and older.body == b""
    assert "/image/v2/images/" in older.headers["Location"]


def test_create_image_with_bad_metadata_is_400_and_leaves_no_image(world: Apps) -> None:
    c = world.compute()
    server_id = boot(c)["id"]
    before = world.image().get("/v2/images").json["images"]
    body = {"createImage": {"name": "snap", "metadata": {"id": "not-a-uuid"}}}
    reply = c.post(f"/v2.1/servers/{server_id}/action", body)
    assert reply.status == 400, reply.body
    assert reply.json["badRequest"]["message"] == (
        "Invalid image metadata: id is an image attribute, not a property."
    )
    assert world.image().get("/v2/images").json["images"] == before
    assert not [call for call in world.conductor.calls if call[0] == "snapshot_server"]
