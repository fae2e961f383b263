"""The guest facts are resolved once (objects/guest_resolution.py, called by the Compute
API): no module of the scheduler, conductor, agent or virt layer names the raw extra
spec or image property keys they come from, so none can re-read them."""

from __future__ import annotations

import ast
import pathlib

import pytest

import virtfleet

PACKAGE = pathlib.Path(virtfleet.__file__).parent
DOWNSTREAM = ("scheduler", "conductor", "agent", "virt")

#: Keys whose values only the guest request resolution may read.
GUEST_KEYS = frozenset(
    {
        "hw_architecture",
        "hw_emulation_architecture",
        "hw_machine_type",
        "hw_firmware_type",
        "hw_maxphysaddr_mode",
        "hw_maxphysaddr_bits",
        "hw:maxphysaddr_mode",
        "hw:maxphysaddr_bits",
        "img_config_drive",
    }
)


def raw_key_uses(source: str) -> list[tuple[int, str]]:
    """(line, key) for every string literal in ``source`` that is exactly a guest key
    (messages that mention a key inside a sentence are not reads)."""
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and node.value in GUEST_KEYS
    ]


MODULES = sorted(p for area in DOWNSTREAM for p in (PACKAGE / area).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_downstream_modules_do_not_read_raw_guest_keys(path: pathlib.Path) -> None:
    found = raw_key_uses(path.read_text())
    assert not found, (
        f"{path.relative_to(PACKAGE)} reads guest facts from raw keys {found}; "
        "read RequestSpec.guest / InstanceSpec.guest_request / GuestSpec.guest instead"
    )


def test_the_check_covers_every_downstream_package() -> None:
    for area in DOWNSTREAM:
        assert any(p.is_relative_to(PACKAGE / area) for p in MODULES), area


@pytest.mark.parametrize(
    "source",
    [
        'arch = props.get("hw_emulation_architecture")',
        'mode = spec.extra_specs["hw:maxphysaddr_mode"]',
        'PROPS = {"hw_machine_type": "MACHINE_"}',
        'if key == "hw_firmware_type": pass',
    ],
)
def test_the_check_sees_a_raw_read(source: str) -> None:
    assert raw_key_uses(source)


def test_a_message_naming_a_key_is_not_a_read() -> None:
    assert not raw_key_uses('raise E(f"hw:maxphysaddr_bits={bits} exceeds the host")')
