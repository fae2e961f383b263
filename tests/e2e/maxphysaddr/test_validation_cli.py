"""The real ``openstack`` CLI shows every maxphysaddr refusal with its message:
``flavor set --property``, ``image create/set --property`` and ``server create``.

The commands run in one interactive ``openstack`` process (its start-up takes
seconds); a failing command prints its error to stderr and the session goes on, so
each expected message is looked for in stderr, in order."""

from __future__ import annotations

import pathlib

import pytest

from support.fleet_cloud import FleetCloud

pytestmark = pytest.mark.slow

FLAVOR = "flavor extra specs hw:maxphysaddr_mode/hw:maxphysaddr_bits"
IMAGE = "image properties hw_maxphysaddr_mode/hw_maxphysaddr_bits"

# (the failing command, the message the CLI must show)
REFUSED = [
    (
        "flavor set --property hw:maxphysaddr_mode=bogus cli-small",
        "Invalid extra spec hw:maxphysaddr_mode='bogus': expected one of emulate, passthrough.",
    ),
    (
        "flavor set --property hw:maxphysaddr_mode=emulate"
        " --property hw:maxphysaddr_bits=forty cli-small",
        "Invalid extra spec hw:maxphysaddr_bits='forty': expected an integer from 32 to 52.",
    ),
    (
        "flavor set --property hw:maxphysaddr_mode=emulate"
        " --property hw:maxphysaddr_bits=53 cli-small",
        "Invalid extra spec hw:maxphysaddr_bits='53': expected an integer from 32 to 52.",
    ),
    (
        "flavor set --property hw:maxphysaddr_mode=emulate"
        " --property hw:maxphysaddr_bits=31 cli-small",
        "Invalid extra spec hw:maxphysaddr_bits='31': expected an integer from 32 to 52.",
    ),
    (
        "flavor set --property hw:maxphysaddr_mode=emulate"
        " --property hw:maxphysaddr_bits=20 cli-small",
        "Invalid extra spec hw:maxphysaddr_bits='20': expected an integer from 32 to 52.",
    ),
    (
        "flavor set --property hw:maxphysaddr_mode=emulate cli-small",
        f"{FLAVOR}: maxphysaddr mode=emulate requires maxphysaddr bits (32..52).",
    ),
    (
        "flavor set --property hw:maxphysaddr_mode=passthrough"
        " --property hw:maxphysaddr_bits=42 cli-small",
        f"{FLAVOR}: maxphysaddr mode=passthrough takes the host's bits; "
        "maxphysaddr bits=42 is not allowed with it.",
    ),
    (
        "flavor set --property hw:maxphysaddr_bits=42 cli-small",
        f"{FLAVOR}: maxphysaddr bits=42 needs maxphysaddr mode=emulate.",
    ),
    (
        "flavor set --property hw:maxphysaddr_mode=emulate"
        " --property hw:maxphysaddr_bits=40 cli-huge",
        f"{FLAVOR}: 1048576 MiB of RAM needs at least 41 physical address bits, "
        "but maxphysaddr bits=40.",
    ),
    (
        "image set --property hw_maxphysaddr_mode=bogus cli-img",
        "Invalid image property hw_maxphysaddr_mode='bogus': expected one of emulate, passthrough.",
    ),
    (
        "image set --property hw_maxphysaddr_mode=emulate cli-img",
        f"{IMAGE}: maxphysaddr mode=emulate requires maxphysaddr bits (32..52).",
    ),
    (
        "image set --property hw_maxphysaddr_mode=emulate"
        " --property hw_maxphysaddr_bits=forty cli-img",
        "Invalid image property hw_maxphysaddr_bits='forty': expected an integer from 32 to 52.",
    ),
    (
        "image set --property hw_maxphysaddr_mode=emulate --property hw_maxphysaddr_bits=53"
        " cli-img",
        "Invalid image property hw_maxphysaddr_bits='53': expected an integer from 32 to 52.",
    ),
    (
        "image set --property hw_maxphysaddr_mode=emulate --property hw_maxphysaddr_bits=31"
        " cli-img",
        "Invalid image property hw_maxphysaddr_bits='31': expected an integer from 32 to 52.",
    ),
    (
        "image set --property hw_maxphysaddr_mode=passthrough"
        " --property hw_maxphysaddr_bits=46 cli-img",
        f"{IMAGE}: maxphysaddr mode=passthrough takes the host's bits; "
        "maxphysaddr bits=46 is not allowed with it.",
    ),
    (
        "image set --property hw_maxphysaddr_bits=46 cli-img",
        f"{IMAGE}: maxphysaddr bits=46 needs maxphysaddr mode=emulate.",
    ),
    (
        "image create --disk-format raw --container-format bare"
        " --property hw_emulation_architecture=s390x --property hw_maxphysaddr_mode=emulate"
        " --property hw_maxphysaddr_bits=42 cli-s390x",
        f"{IMAGE}: maxphysaddr mode=emulate is only supported for x86_64 guests, not s390x.",
    ),
    (
        "image create --disk-format raw --container-format bare"
        " --property hw_architecture=aarch64 --property hw_maxphysaddr_mode=passthrough"
        " cli-arm",
        f"{IMAGE}: maxphysaddr mode=passthrough is only supported for x86_64 guests, not aarch64.",
    ),
    (
        "server create --flavor cli-42 --image cli-passthrough-img cli-vm-1",
        "Flavor cli-42 sets hw:maxphysaddr_mode=emulate but image {passthrough_img} sets "
        "hw_maxphysaddr_mode=passthrough; they must agree.",
    ),
    (
        "server create --flavor cli-42 --image cli-44-img cli-vm-3",
        "Flavor cli-42 sets hw:maxphysaddr_bits=42 but image {img_44} sets "
        "hw_maxphysaddr_bits=44; they must agree.",
    ),
    (
        "server create --flavor cli-8g --image cli-32-img cli-vm-4",
        "flavor cli-8g with image {img_32}: 8192 MiB of RAM needs at least 34 physical "
        "address bits, but maxphysaddr bits=32.",
    ),
    (
        "server create --flavor cli-42 --image cli-arm-img cli-vm-2",
        "flavor cli-42 with image {arm_img}: maxphysaddr mode=emulate is only supported "
        "for x86_64 guests, not aarch64.",
    ),
    (
        "server create --flavor cli-pt --image cli-ppc-img cli-vm-5",
        "flavor cli-pt with image {ppc_img}: maxphysaddr mode=passthrough is only supported "
        "for x86_64 guests, not ppc64le.",
    ),
]


def test_cli_shows_every_refusal(fleet: FleetCloud, tmp_path: pathlib.Path) -> None:
    for name, ram in (("cli-small", 1024), ("cli-huge", 1 << 20), ("cli-8g", 8192)):
        assert fleet.flavor(name, ram).status == 200
    specs = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"}
    assert fleet.flavor("cli-42", 1024, specs).status == 200
    assert fleet.flavor("cli-pt", 1024, {"hw:maxphysaddr_mode": "passthrough"}).status == 200
    fleet.image("cli-img")
    ids = {
        "passthrough_img": fleet.image("cli-passthrough-img", hw_maxphysaddr_mode="passthrough"),
        "arm_img": fleet.image("cli-arm-img", hw_emulation_architecture="aarch64"),
        "ppc_img": fleet.image("cli-ppc-img", hw_architecture="ppc64le"),
        "img_44": fleet.image(
            "cli-44-img", hw_maxphysaddr_mode="emulate", hw_maxphysaddr_bits="44"
        ),
        "img_32": fleet.image(
            "cli-32-img", hw_maxphysaddr_mode="emulate", hw_maxphysaddr_bits="32"
        ),
    }
    good = (
        "flavor set --property hw:maxphysaddr_mode=emulate"
        " --property hw:maxphysaddr_bits=41 cli-huge"
    )
    outputs, stderr = fleet.cli.session(
        *(command for command, _ in REFUSED),
        good,
        "flavor show cli-small -f json",
        "flavor show cli-huge -f json",
        "image show cli-img -f json",
        "server list -f json",
    )
    position = 0
    for command, message in REFUSED:
        expected = message.format(**ids)
        found = stderr.find(expected, position)
        assert found >= 0, f"{command!r} did not show {expected!r}:\n{stderr}"
        position = found + len(expected)
    assert stderr.count("400") >= len(REFUSED), stderr
    small, huge, image, servers = outputs
    assert small["properties"] == {}
    assert huge["properties"] == {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "41"}
    assert "hw_maxphysaddr_mode" not in image["properties"]
    assert servers == []
