"""rescue / unrescue through the Compute API: the body, the states, the image, the
lock, the password answer and the policy rules (the conductor is a recording one)."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from support.api_apps import Apps, make_apps
from virtfleet.api.compute import routes
from virtfleet.api.compute.schemas import server_action
from virtfleet.api.policy.enforcer import Authorizer
from virtfleet.api.wsgi import Request
from virtfleet.conf import make_conf
from virtfleet.db import images, servers
from virtfleet.objects.guest_request import GuestRequest

from .conftest import world as make_world  # the fixture, for a custom conf
from .test_servers import EMPTY, IMG, action, boot

MEMBER = {"X-Roles": "member,reader", "X-Project-Id": "p1"}


def server_in(world: Apps, vm_state: str, headers: dict[str, str] | None = None) -> str:
    c = world.compute()
    reply = c.post(
        "/v2.1/servers",
        {"server": {"name": "vm", "flavorRef": "f1", "imageRef": IMG, "networks": "none"}},
        headers=headers or {},
    )
    assert reply.status == 202, reply.body
    server_id = str(reply.json["server"]["id"])
    servers.update(world.db, server_id, vm_state=vm_state)
    return server_id


def status_of(world: Apps, server_id: str) -> str:
    return str(world.compute().get(f"/v2.1/servers/{server_id}").json["server"]["status"])


def test_rescue_answers_a_generated_password_and_unrescue_202(world: Apps) -> None:
    c = world.compute()
    server_id = boot(c)["id"]
    seen: list[Any] = []
    recorded = world.conductor.rescue_server
    world.conductor.rescue_server = lambda uuid, image: (  # type: ignore[method-assign]
        seen.append((servers.get(world.db, uuid).task_state, image)),
        recorded(uuid, image),
    )
    reply = action(c, server_id, {"rescue": None})
    assert reply.status == 200
    password = reply.json["adminPass"]
    assert isinstance(password, str) and len(password) >= 12
    assert seen == [("rescuing", IMG)]  # the task set first; the server's own image
    assert status_of(world, server_id) == "RESCUE"
    assert action(c, server_id, {"unrescue": None}).status == 202
    assert status_of(world, server_id) == "ACTIVE"
    assert world.conductor.calls[-2:] == [
        ("rescue_server", (server_id, IMG)),
        ("unrescue_server", (server_id,)),
    ]
    events = c.get(f"/v2.1/servers/{server_id}/os-instance-actions").json["instanceActions"]
    assert [e["action"] for e in events][:2] == ["unrescue", "rescue"]


def test_rescue_with_a_password_and_an_image(world: Apps) -> None:
    c = world.compute()
    server_id = boot(c)["id"]
    body = {"rescue": {"adminPass": "s3cret-rescue", "rescue_image_ref": f"http://x/{IMG}"}}
    reply = action(c, server_id, body)
    assert reply.status == 200 and reply.json == {"adminPass": "s3cret-rescue"}
    assert world.conductor.calls[-1] == ("rescue_server", (server_id, IMG))


def test_no_password_in_the_answer_when_instance_passwords_are_off(
    tmp_path: pathlib.Path,
) -> None:
    world = make_world.__wrapped__(make_apps(tmp_path, api__enable_instance_password=False))  # type: ignore[attr-defined]
    server_id = boot(world.compute())["id"]
    reply = action(world.compute(), server_id, {"rescue": {"adminPass": "x"}})
    assert reply.status == 200 and reply.json == {}


@pytest.mark.parametrize("vm_state", ["active", "stopped", "error"])
def test_rescue_from_each_allowed_state(world: Apps, vm_state: str) -> None:
    server_id = server_in(world, vm_state)
    assert action(world.compute(), server_id, {"rescue": {}}).status == 200
    assert status_of(world, server_id) == "RESCUE"


@pytest.mark.parametrize("vm_state", ["paused", "suspended", "rescued", "shelved", "resized"])
def test_rescue_from_other_states_is_409_naming_the_state(world: Apps, vm_state: str) -> None:
    server_id = server_in(world, vm_state)
    reply = action(world.compute(), server_id, {"rescue": None})
    assert reply.status == 409
    assert (
        f"Cannot 'rescue' instance {server_id} while it is in vm_state {vm_state}"
        in (reply.json["conflictingRequest"]["message"])
    )
    assert ("rescue_server", (server_id, IMG)) not in world.conductor.calls


@pytest.mark.parametrize("vm_state", ["active", "stopped", "paused", "error"])
def test_unrescue_only_from_rescue(world: Apps, vm_state: str) -> None:
    server_id = server_in(world, vm_state)
    reply = action(world.compute(), server_id, {"unrescue": None})
    assert reply.status == 409
    assert (
        f"Cannot 'unrescue' instance {server_id} while it is in vm_state {vm_state}"
        in (reply.json["conflictingRequest"]["message"])
    )


def test_a_busy_server_is_409(world: Apps) -> None:
    server_id = server_in(world, "active")
    servers.update(world.db, server_id, task_state="powering-off")
    reply = action(world.compute(), server_id, {"rescue": None})
    assert reply.status == 409 and "task_state powering-off" in reply.body.decode()


@pytest.mark.parametrize(
    ("argument", "fragment"),
    [
        ({"adminPass": 5}, "adminPass"),
        ({"adminPass": ""}, "adminPass"),
        ({"rescue_image_ref": None}, "rescue_image_ref"),
        ({"image": IMG}, "additional properties are not allowed ('image' unexpected)"),
        ("now", "Invalid input for rescue: expected null or an object."),
        (["x"], "Invalid input for rescue: expected null or an object."),
    ],
)
def test_bad_rescue_bodies_are_400(world: Apps, argument: Any, fragment: str) -> None:
    server_id = boot(world.compute())["id"]
    reply = action(world.compute(), server_id, {"rescue": argument})
    assert reply.status == 400, reply.body
    assert fragment in reply.json["badRequest"]["message"]
    assert status_of(world, server_id) == "ACTIVE"


@pytest.mark.parametrize(
    ("argument", "fragment"),
    [
        ({"force": True}, "Invalid input for unrescue: additional properties"),
        ("yes", "Invalid input for unrescue: expected null."),
    ],
)
def test_bad_unrescue_bodies_are_400(world: Apps, argument: Any, fragment: str) -> None:
    server_id = server_in(world, "rescued")
    reply = action(world.compute(), server_id, {"unrescue": argument})
    assert reply.status == 400 and fragment in reply.json["badRequest"]["message"]


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        (
            "33333333-3333-3333-3333-333333333333",
            "Rescue image 33333333-3333-3333-3333-333333333333 could not be found "
            "(rescue_image_ref).",
        ),
        (EMPTY, f"Rescue image {EMPTY} has no data (status queued) (rescue_image_ref)."),
    ],
)
def test_an_unusable_rescue_image_is_400(world: Apps, image: str, fragment: str) -> None:
    server_id = boot(world.compute())["id"]
    reply = action(world.compute(), server_id, {"rescue": {"rescue_image_ref": image}})
    assert reply.status == 400 and reply.json["badRequest"]["message"] == fragment
    server = servers.get(world.db, server_id)
    assert (server.vm_state, server.task_state) == ("active", None)
    assert not [call for call in world.conductor.calls if call[0] == "rescue_server"]


def test_the_servers_own_image_gone_is_400_naming_it(world: Apps) -> None:
    server_id = boot(world.compute())["id"]
    assert world.image().delete(f"/v2/images/{IMG}").status == 204
    reply = action(world.compute(), server_id, {"rescue": None})
    assert reply.status == 400
    assert reply.json["badRequest"]["message"] == (
        f"Rescue image {IMG} could not be found (the server's own image, used without "
        "rescue_image_ref)."
    )


def test_a_locked_server_refuses_its_owner_not_an_admin(world: Apps) -> None:
    server_id = server_in(world, "active", MEMBER)
    c = world.compute()
    assert c.post(f"/v2.1/servers/{server_id}/action", {"lock": None}).status == 202  # admin
    refused = c.post(f"/v2.1/servers/{server_id}/action", {"rescue": None}, headers=MEMBER)
    assert refused.status == 409 and f"Instance {server_id} is locked" in refused.body.decode()
    assert action(c, server_id, {"rescue": None}).status == 200  # the admin may
    refused = c.post(f"/v2.1/servers/{server_id}/action", {"unrescue": None}, headers=MEMBER)
    assert refused.status == 409 and "is locked" in refused.body.decode()


def test_each_action_is_under_its_own_rule() -> None:
    rules = {action.name: action.policy for action in routes.SERVER_ACTIONS}
    assert rules["rescue"] == "os_compute_api:os-rescue"
    assert rules["unrescue"] == "os_compute_api:os-unrescue"
    assert {"rescue", "unrescue"} <= set(server_action.ACTIONS)


@pytest.mark.parametrize("rule", ["os_compute_api:os-rescue", "os_compute_api:os-unrescue"])
def test_the_rules_default_to_the_owner_or_an_admin(tmp_path: pathlib.Path, rule: str) -> None:
    check = Authorizer(make_conf(api__auth_strategy="noauth"))  # type: ignore[arg-type]
    owned = {"project_id": "p1"}

    def asking(roles: str, project: str = "p1") -> Request:
        return Request.blank("/", headers={"X-Roles": roles, "X-Project-Id": project})

    assert check.allowed(asking("member,reader"), rule, owned)
    assert check.allowed(asking("admin,member,reader", "p9"), rule, owned)
    assert not check.allowed(asking("reader"), rule, owned)
    assert not check.allowed(asking("member,reader", "p2"), rule, owned)


def test_a_policy_file_can_make_rescue_admin_only(tmp_path: pathlib.Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('"os_compute_api:os-rescue": "role:admin"\n')
    check = Authorizer(  # type: ignore[arg-type]
        make_conf(api__auth_strategy="noauth", oslo_policy__policy_file=str(policy))
    )
    member = Request.blank("/", headers={"X-Roles": "member", "X-Project-Id": "p1"})
    assert not check.allowed(member, "os_compute_api:os-rescue", {"project_id": "p1"})
    assert check.allowed(member, "os_compute_api:os-unrescue", {"project_id": "p1"})


def image_with(world: Apps, image_id: str, properties: dict[str, str]) -> str:
    """An active image with ``properties`` (as the Image API stores them)."""
    i = world.image()
    body = {"id": image_id, "name": f"rescue-{image_id[:4]}", "disk_format": "raw",
            "container_format": "bare", **properties}  # fmt: skip
    created = i.post("/v2/images", body)
    assert created.status == 201, created.body
    uploaded = i.request(
        "PUT", f"/v2/images/{image_id}/file", raw=b"r" * 64, content_type="application/octet-stream"
    )
    assert uploaded.status == 204, uploaded.body
    return image_id


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        ({"hw_architecture": "aarch64"}, "aarch64 (hw_architecture=aarch64)"),
        ({"hw_emulation_architecture": "ppc64le"}, "ppc64le (hw_emulation_architecture=ppc64le)"),
        ({"architecture": "arm64"}, "aarch64 (architecture=aarch64)"),
    ],
    ids=["native", "emulated", "glance-arch"],
)
def test_a_rescue_image_of_another_architecture_is_400_naming_both(
    world: Apps, properties: dict[str, str], named: str
) -> None:
    server_id = boot(world.compute())["id"]  # an x86_64 guest (its image says so)
    other = image_with(world, "44444444-4444-4444-4444-444444444444", properties)
    reply = action(world.compute(), server_id, {"rescue": {"rescue_image_ref": other}})
    assert reply.status == 400, reply.body
    assert reply.json["badRequest"]["message"] == (
        f"Rescue image {other} is for architecture {named}, but server {server_id}'s guest is "
        "x86_64: a rescue boots the image in the server's own guest, so it must run on that "
        "architecture."
    )
    server = servers.get(world.db, server_id)
    assert (server.vm_state, server.task_state) == ("active", None)
    assert not [call for call in world.conductor.calls if call[0] == "rescue_server"]


@pytest.mark.parametrize(
    "properties",
    [{}, {"hw_architecture": "x86_64"}, {"hw_architecture": "i686"}],
    ids=["no-arch", "same", "i686-on-x86_64"],
)
def test_a_rescue_image_the_guest_cpu_runs_is_accepted(
    world: Apps, properties: dict[str, str]
) -> None:
    server_id = boot(world.compute())["id"]
    usable = image_with(world, "55555555-5555-5555-5555-555555555555", properties)
    reply = action(world.compute(), server_id, {"rescue": {"rescue_image_ref": usable}})
    assert reply.status == 200, reply.body
    assert world.conductor.calls[-1] == ("rescue_server", (server_id, usable))


def test_a_rescue_image_with_a_bad_arch_name_is_400_naming_the_property(world: Apps) -> None:
    server_id = boot(world.compute())["id"]
    bad = image_with(world, "66666666-6666-6666-6666-666666666666", {})
    images.update(world.db, bad, properties={"hw_architecture": "z80"})  # set before checks
    reply = action(world.compute(), server_id, {"rescue": {"rescue_image_ref": bad}})
    assert reply.status == 400
    message = reply.json["badRequest"]["message"]
    assert message.startswith(f"Cannot rescue with image {bad}: Invalid image property hw_arch")
    assert "z80" in message


# -- stable device rescue: hw_rescue_device / hw_rescue_bus of the rescue image


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"hw_rescue_device": "cdrom"}, ("cdrom", "sata")),  # an x86_64 q35 guest's
        ({"hw_rescue_bus": "usb"}, ("disk", "usb")),
        ({"hw_rescue_device": "disk", "hw_rescue_bus": "scsi"}, ("disk", "scsi")),
    ],
    ids=["cdrom", "bus-only", "disk-scsi"],
)
def test_a_stable_rescue_sends_the_device_at_every_microversion(
    world: Apps, properties: dict[str, str], expected: tuple[str, str]
) -> None:
    usable = image_with(world, "77777777-7777-7777-7777-777777777777", properties)
    for version in ("2.1", "2.87"):
        server_id = boot(world.compute())["id"]
        c = world.compute(version)
        reply = action(c, server_id, {"rescue": {"rescue_image_ref": usable}})
        assert reply.status == 200, reply.body
        name, (uuid, image, device) = world.conductor.calls[-1]
        assert (name, uuid, image) == ("rescue_server", server_id, usable)
        assert (device.device, device.bus) == expected


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        (
            {"hw_rescue_device": "floppy"},
            "Invalid image property hw_rescue_device='floppy': guest architecture x86_64 "
            "(machine q35) has no floppy controller; valid: disk, cdrom.",
        ),
        (
            {"hw_rescue_bus": "ide"},
            "Invalid image property hw_rescue_bus='ide' for a rescue disk on guest "
            "architecture x86_64 (machine q35): valid: virtio, scsi, sata, usb.",
        ),
    ],
    ids=["floppy-on-q35", "ide-on-q35"],
)
def test_a_rescue_device_the_guest_lacks_is_400_before_anything_changes(
    world: Apps, properties: dict[str, str], message: str
) -> None:
    server_id = boot(world.compute())["id"]
    bad = image_with(world, "88888888-8888-8888-8888-888888888888", properties)
    reply = action(world.compute(), server_id, {"rescue": {"rescue_image_ref": bad}})
    assert reply.status == 400
    assert reply.json["badRequest"]["message"] == (
        f"Cannot rescue {server_id} with image {bad}: {message}"
    )
    server = servers.get(world.db, server_id)
    assert (server.vm_state, server.task_state) == ("active", None)
    assert not [call for call in world.conductor.calls if call[0] == "rescue_server"]


def test_the_machine_type_decides_ide_and_floppy(world: Apps) -> None:
    server_id = boot(world.compute())["id"]
    kept = servers.get(world.db, server_id).guest_request
    values = {name: getattr(kept, name) for name in kept.fields if kept.obj_attr_is_set(name)}
    i440fx = GuestRequest(**{**values, "machine_type": "pc-i440fx-7.2"})
    servers.update(world.db, server_id, guest_request=i440fx)
    floppy = image_with(
        world, "99999999-9999-9999-9999-999999999999", {"hw_rescue_device": "floppy"}
    )
    reply = action(world.compute(), server_id, {"rescue": {"rescue_image_ref": floppy}})
    assert reply.status == 200, reply.body
    device = world.conductor.calls[-1][1][2]
    assert (device.device, device.bus) == ("floppy", "fdc")


@pytest.mark.parametrize(
    ("prop", "value", "allowed"),
    [
        ("hw_rescue_device", "tape", "disk, cdrom, floppy"),
        ("hw_rescue_bus", "pci", "virtio, ide, scsi, usb, sata, fdc"),
    ],
)
def test_bad_rescue_properties_are_refused_when_the_image_is_made_or_changed(
    world: Apps, prop: str, value: str, allowed: str
) -> None:
    i = world.image()
    created = i.post("/v2/images", {"name": "bad-rescue", prop: value})
    assert created.status == 400
    expected = f"Invalid image property {prop}={value!r}: expected one of {allowed}."
    assert expected in created.body.decode()
    patched = i.request(
        "PATCH",
        "/v2/images/11111111-1111-1111-1111-111111111111",
        [{"op": "add", "path": f"/{prop}", "value": value}],
        content_type="application/openstack-images-v2.1-json-patch",
    )
    assert patched.status == 400 and expected in patched.body.decode()
