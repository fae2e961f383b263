"""The static table of machine types per guest architecture (virt/arch.py)."""

from __future__ import annotations

import pytest

from virtfleet import errors
from virtfleet.virt import arch


@pytest.mark.parametrize("name", sorted(arch.ARCHES))
def test_every_arch_knows_its_own_default_machine(name: str) -> None:
    row = arch.ARCHES[name]
    assert row.machine_types, name
    assert arch.machine_type_known(row.machine, name)
    arch.check_machine_type(row.machine, name)


@pytest.mark.parametrize(
    ("machine", "guest_arch"),
    [
        ("q35", "x86_64"),
        ("pc", "i386"),
        ("pc-q35-7.2", "x86_64"),
        ("pc-i440fx-2.11", "x86_64"),
        ("pc-1.3", "x86_64"),
        ("pc-q35-rhel9.2.0", "x86_64"),
        ("virt", "arm64"),
        ("virt-7.2", "aarch64"),
        ("virt-6.2", "armv7l"),
        ("pseries-7.2", "ppc64le"),
        ("powernv9", "ppc64"),
        ("s390-ccw-virtio-2.4", "s390x"),
        ("virt", "riscv64"),
        ("malta", "mipsel"),
        ("loongson3-virt", "mips64el"),
        ("virt-7.2", None),
        ("malta", None),
    ],
)
def test_known_machine_types_pass(machine: str, guest_arch: str | None) -> None:
    arch.check_machine_type(machine, guest_arch)


@pytest.mark.parametrize(
    ("machine", "guest_arch", "fragments"),
    [
        ("q35", "aarch64", ["'q35' for aarch64", "valid: virt, virt-X.Y, sbsa-ref"]),
        ("virt", "x86_64", ["'virt' for x86_64", "q35, pc, pc-q35-X.Y, pc-i440fx-X.Y"]),
        ("pc-q35-7", "x86_64", ["'pc-q35-7' for x86_64"]),
        ("virt-7.2", "ppc64le", ["for ppc64le", "pseries, pseries-X.Y"]),
        ("virt-latest", "aarch64", ["'virt-latest'"]),
        ("pseries", "s390x", ["for s390x; valid: s390-ccw-virtio, s390-ccw-virtio-X.Y"]),
        ("Q35", "x86_64", ["'Q35'"]),  # machine types are case-sensitive, as in QEMU
        ("malta", "riscv64", ["for riscv64"]),
        ("amiga", None, ["unknown machine type 'amiga'; valid: q35,", "malta"]),
    ],
)
def test_unknown_machine_types_name_the_value_and_the_valid_set(
    machine: str, guest_arch: str | None, fragments: list[str]
) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        arch.check_machine_type(machine, guest_arch)
    for fragment in fragments:
        assert fragment in caught.value.message
    assert "X.Y is a version" in caught.value.message


def test_an_unknown_arch_is_its_own_error() -> None:
    with pytest.raises(errors.InvalidInput, match="unknown architecture 'vax'"):
        arch.check_machine_type("q35", "vax")
