"""Every maxphysaddr mistake is a 400 with its reason, through the Compute and Image
APIs of a running embedded cloud: flavor extra specs when set, image properties when
set, and the flavor and image together at boot (no server, no allocation)."""

from __future__ import annotations

import itertools

import pytest

from support.fleet_cloud import FleetCloud

EMULATE_42 = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"}
FLAVOR_WHERE = "flavor extra specs hw:maxphysaddr_mode/hw:maxphysaddr_bits"
IMAGE_WHERE = "image properties hw_maxphysaddr_mode/hw_maxphysaddr_bits"
_names = itertools.count()


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


# (extra specs, flavor RAM MiB, the complete message)
FLAVOR_CASES = [
    (
        {"hw:maxphysaddr_mode": "bogus"},
        1024,
        "Invalid extra spec hw:maxphysaddr_mode='bogus': expected one of emulate, passthrough.",
    ),
    (
        {"hw:maxphysaddr_mode": "Emulate", "hw:maxphysaddr_bits": "42"},
        1024,
        "Invalid extra spec hw:maxphysaddr_mode='Emulate': expected one of emulate, passthrough.",
    ),
    *(
        (
            {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": bits},
            1024,
            f"Invalid extra spec hw:maxphysaddr_bits={bits!r}: expected an integer from 32 to 52.",
        )
        # below 32: QEMU's limit for x86_64 guests; above 52: x86's
        for bits in ("forty", "42.0", "0x2a", "", "0", "-42", "20", "31", "53", "64")
    ),
    (
        {"hw:maxphysaddr_mode": "emulate"},
        1024,
        f"{FLAVOR_WHERE}: maxphysaddr mode=emulate requires maxphysaddr bits (32..52).",
    ),
    (
        {"hw:maxphysaddr_mode": "passthrough", "hw:maxphysaddr_bits": "42"},
        1024,
        f"{FLAVOR_WHERE}: maxphysaddr mode=passthrough takes the host's bits; "
        "maxphysaddr bits=42 is not allowed with it.",
    ),
    (
        {"hw:maxphysaddr_bits": "42"},
        1024,
        f"{FLAVOR_WHERE}: maxphysaddr bits=42 needs maxphysaddr mode=emulate.",
    ),
    (
        # 1 TiB of RAM (+ the PCI hole below 4 GiB) needs 41 bits
        {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "40"},
        1 << 20,
        f"{FLAVOR_WHERE}: 1048576 MiB of RAM needs at least 41 physical address bits, "
        "but maxphysaddr bits=40.",
    ),
    (
        {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "32"},
        4096,
        f"{FLAVOR_WHERE}: 4096 MiB of RAM needs at least 33 physical address bits, "
        "but maxphysaddr bits=32.",
    ),
    (
        {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "39"},
        512 * 1024,
        f"{FLAVOR_WHERE}: 524288 MiB of RAM needs at least 40 physical address bits, "
        "but maxphysaddr bits=39.",
    ),
]


@pytest.mark.parametrize(("specs", "ram", "message"), FLAVOR_CASES)
def test_flavor_extra_specs_are_refused_when_set(
    fleet: FleetCloud, specs: dict[str, str], ram: int, message: str
) -> None:
    name = fresh("bad")
    reply = fleet.flavor(name, ram, specs)
    assert reply.status == 400, reply.body
    assert reply.message == message
    assert set(reply.body) == {"badRequest"} and reply.body["badRequest"]["code"] == 400
    stored = fleet.call("GET", f"/compute/v2.1/flavors/{name}/os-extra_specs")
    assert stored.body == {"extra_specs": {}}  # nothing of the refused request is kept


@pytest.mark.parametrize(
    ("specs", "ram"),
    [
        (EMULATE_42, 1024),
        ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "32"}, 2048),
        ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "52"}, 1024),
        ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "41"}, 1 << 20),
        ({"hw:maxphysaddr_mode": "passthrough"}, 1 << 20),
    ],
)
def test_good_flavor_extra_specs_are_kept(
    fleet: FleetCloud, specs: dict[str, str], ram: int
) -> None:
    name = fresh("good")
    reply = fleet.flavor(name, ram, specs)
    assert reply.status == 200, reply.body
    assert fleet.call("GET", f"/compute/v2.1/flavors/{name}/os-extra_specs").body == {
        "extra_specs": specs
    }


def test_specs_are_checked_together_on_every_change(fleet: FleetCloud) -> None:
    """Setting or deleting one key re-checks the flavor's whole set."""
    name = fresh("step")
    assert fleet.flavor(name, 1024, EMULATE_42).status == 200
    dropped = fleet.call(
        "DELETE", f"/compute/v2.1/flavors/{name}/os-extra_specs/hw:maxphysaddr_bits"
    )
    assert dropped.status == 400
    assert "mode=emulate requires maxphysaddr bits" in dropped.message
    switched = fleet.call(
        "PUT",
        f"/compute/v2.1/flavors/{name}/os-extra_specs/hw:maxphysaddr_mode",
        {"hw:maxphysaddr_mode": "passthrough"},
    )
    assert switched.status == 400
    assert "bits=42 is not allowed" in switched.message
    one = fleet.call(
        "PUT",
        f"/compute/v2.1/flavors/{name}/os-extra_specs/hw:maxphysaddr_bits",
        {"hw:maxphysaddr_bits": "99"},
    )
    assert one.status == 400 and "from 32 to 52" in one.message
    assert fleet.call("GET", f"/compute/v2.1/flavors/{name}/os-extra_specs").body == {
        "extra_specs": EMULATE_42
    }


# (image properties, the complete message)
IMAGE_CASES = [
    (
        {"hw_maxphysaddr_mode": "bogus"},
        "Invalid image property hw_maxphysaddr_mode='bogus': expected one of emulate, passthrough.",
    ),
    *(
        (
            {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": bits},
            f"Invalid image property hw_maxphysaddr_bits={bits!r}: expected an integer "
            "from 32 to 52.",
        )
        for bits in ("forty", "4.2e1", "0", "20", "53")
    ),
    (
        {"hw_maxphysaddr_mode": "emulate"},
        f"{IMAGE_WHERE}: maxphysaddr mode=emulate requires maxphysaddr bits (32..52).",
    ),
    (
        {"hw_maxphysaddr_mode": "passthrough", "hw_maxphysaddr_bits": "46"},
        f"{IMAGE_WHERE}: maxphysaddr mode=passthrough takes the host's bits; "
        "maxphysaddr bits=46 is not allowed with it.",
    ),
    (
        {"hw_maxphysaddr_bits": "46"},
        f"{IMAGE_WHERE}: maxphysaddr bits=46 needs maxphysaddr mode=emulate.",
    ),
    (
        {"hw_architecture": "aarch64", "hw_maxphysaddr_mode": "passthrough"},
        f"{IMAGE_WHERE}: maxphysaddr mode=passthrough is only supported for x86_64 guests, "
        "not aarch64.",
    ),
    (
        {
            "hw_emulation_architecture": "arm64",
            "hw_maxphysaddr_mode": "emulate",
            "hw_maxphysaddr_bits": "42",
        },
        f"{IMAGE_WHERE}: maxphysaddr mode=emulate is only supported for x86_64 guests, "
        "not aarch64.",
    ),
    (
        # 32-bit x86: QEMU does not let phys-bits be set at all
        {"hw_architecture": "i686", "hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "36"},
        f"{IMAGE_WHERE}: maxphysaddr mode=emulate is only supported for x86_64 guests, not i686.",
    ),
]


@pytest.mark.parametrize(("properties", "message"), IMAGE_CASES)
def test_image_properties_are_refused_on_update(
    fleet: FleetCloud, properties: dict[str, str], message: str
) -> None:
    image_id = fleet.image(fresh("img"))
    reply = fleet.set_image_properties(image_id, **properties)
    assert reply.status == 400, reply.body
    assert reply.body == {"message": message, "code": "400 Bad Request", "title": "Bad Request"}
    shown = fleet.call("GET", f"/image/v2/images/{image_id}").body
    assert not set(properties) & set(shown)


@pytest.mark.parametrize(("properties", "message"), IMAGE_CASES)
def test_image_properties_are_refused_on_create(
    fleet: FleetCloud, properties: dict[str, str], message: str
) -> None:
    before = len(fleet.call("GET", "/image/v2/images").body["images"])
    reply = fleet.call(
        "POST",
        "/image/v2/images",
        {"name": "x", "disk_format": "raw", "container_format": "bare", **properties},
    )
    assert reply.status == 400, reply.body
    assert reply.message == message
    assert len(fleet.call("GET", "/image/v2/images").body["images"]) == before


def test_good_image_properties_are_kept(fleet: FleetCloud) -> None:
    image_id = fleet.image(fresh("img"), hw_architecture="x86_64")
    reply = fleet.set_image_properties(
        image_id, hw_maxphysaddr_mode="emulate", hw_maxphysaddr_bits="48"
    )
    assert reply.status == 200, reply.body
    assert (reply.body["hw_maxphysaddr_mode"], reply.body["hw_maxphysaddr_bits"]) == (
        "emulate",
        "48",
    )


# Flavor specs, flavor RAM, image properties -> the message of the 400 at boot.
BOOT_CASES = [
    (
        EMULATE_42,
        1024,
        {"hw_maxphysaddr_mode": "passthrough"},
        "Flavor {flavor} sets hw:maxphysaddr_mode=emulate but image {image} sets "
        "hw_maxphysaddr_mode=passthrough; they must agree.",
    ),
    (
        EMULATE_42,
        1024,
        {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "46"},
        "Flavor {flavor} sets hw:maxphysaddr_bits=42 but image {image} sets "
        "hw_maxphysaddr_bits=46; they must agree.",
    ),
    (
        {"hw:maxphysaddr_mode": "passthrough"},
        1024,
        {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "46"},
        "Flavor {flavor} sets hw:maxphysaddr_mode=passthrough but image {image} sets "
        "hw_maxphysaddr_mode=emulate; they must agree.",
    ),
    (
        # the image asks for 32 bits; the flavor's 8 GiB needs 34
        {},
        8192,
        {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "32"},
        "flavor {flavor} with image {image}: 8192 MiB of RAM needs at least 34 physical "
        "address bits, but maxphysaddr bits=32.",
    ),
    (
        {"hw:maxphysaddr_mode": "passthrough"},
        1024,
        {"hw_architecture": "aarch64"},
        "flavor {flavor} with image {image}: maxphysaddr mode=passthrough is only supported "
        "for x86_64 guests, not aarch64.",
    ),
    (
        EMULATE_42,
        1024,
        {"hw_emulation_architecture": "aarch64"},
        "flavor {flavor} with image {image}: maxphysaddr mode=emulate is only supported "
        "for x86_64 guests, not aarch64.",
    ),
    (
        EMULATE_42,
        1024,
        {"hw_architecture": "i686"},
        "flavor {flavor} with image {image}: maxphysaddr mode=emulate is only supported "
        "for x86_64 guests, not i686.",
    ),
]


@pytest.mark.parametrize(("specs", "ram", "properties", "message"), BOOT_CASES)
def test_flavor_and_image_together_are_refused_at_boot(
    fleet: FleetCloud,
    specs: dict[str, str],
    ram: int,
    properties: dict[str, str],
    message: str,
) -> None:
    flavor = fresh("boot")
    assert fleet.flavor(flavor, ram, specs).status == 200
    image_id = fleet.image(fresh("img"))
    tagged = fleet.set_image_properties(image_id, **properties)
    assert tagged.status == 200, tagged.body
    servers_before = fleet.call("GET", "/compute/v2.1/servers").body["servers"]
    reply = fleet.create_server(fresh("vm"), flavor, image_id)
    assert reply.status == 400, reply.body
    assert reply.message == message.format(flavor=flavor, image=image_id)
    assert fleet.call("GET", "/compute/v2.1/servers").body["servers"] == servers_before


def test_image_alone_decides_when_the_flavor_says_nothing(fleet: FleetCloud) -> None:
    flavor = fresh("mode-only")
    assert fleet.flavor(flavor, 1024).status == 200
    image_id = fleet.image(fresh("img"), hw_maxphysaddr_mode="emulate", hw_maxphysaddr_bits="44")
    server = fleet.boot(fresh("vm"), flavor, image_id)
    assert server["status"] == "ACTIVE", server
    assert server["OS-EXT-SRV-ATTR:host"] in {"bits46", "bits52", "passthrough"}
    assert '<maxphysaddr mode="emulate" bits="44"/>' in fleet.domain_xml(server["id"])
    fleet.delete_server(server["id"])
