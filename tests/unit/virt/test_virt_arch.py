"""The architecture table: names, aliases, traits, native runs and per-arch defaults."""

from __future__ import annotations

import os_traits
import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtfleet import errors
from virtfleet.virt import arch


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("x86_64", "x86_64"),
        ("X86_64", "x86_64"),
        ("amd64", "x86_64"),
        ("AMD64", "x86_64"),
        ("i386", "i686"),
        ("i486", "i686"),
        ("i586", "i686"),
        ("i686", "i686"),
        ("arm64", "aarch64"),
        ("AArch64", "aarch64"),
        ("armv7l", "armv7l"),
        ("ppc64el", "ppc64le"),
        ("ppc64le", "ppc64le"),
        ("ppc64", "ppc64"),
        ("s390x", "s390x"),
        ("riscv64", "riscv64"),
        ("RISCV64", "riscv64"),
        ("mipsel", "mipsel"),
        ("mips", "mips"),
        (" x86_64 ", "x86_64"),
    ],
)
def test_canonicalize(given: str, canonical: str) -> None:
    assert arch.canonicalize(given) == canonical


@pytest.mark.parametrize("bad", ["", "sparc", "x86-65", "pdp11", "arm65"])
def test_canonicalize_rejects_unknown_names_listing_the_valid_set(bad: str) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        arch.canonicalize(bad)
    message = str(caught.value)
    assert repr(bad) in message
    for name in ("x86_64", "aarch64", "ppc64le", "s390x", "riscv64", "mipsel"):
        assert name in message


@pytest.mark.parametrize(
    ("name", "hw_trait", "compute_trait"),
    [
        ("x86_64", "HW_ARCH_X86_64", "COMPUTE_ARCH_X86_64"),
        ("i686", "HW_ARCH_I686", None),
        ("aarch64", "HW_ARCH_AARCH64", "COMPUTE_ARCH_AARCH64"),
        ("armv7l", "HW_ARCH_ARMV7", None),
        ("ppc64le", "HW_ARCH_PPC64LE", "COMPUTE_ARCH_PPC64LE"),
        ("s390x", "HW_ARCH_S390X", "COMPUTE_ARCH_S390X"),
        ("riscv64", None, "COMPUTE_ARCH_RISCV64"),
        ("mipsel", "HW_ARCH_MIPSEL", "COMPUTE_ARCH_MIPSEL"),
    ],
)
def test_traits_exist_in_os_traits(
    name: str, hw_trait: str | None, compute_trait: str | None
) -> None:
    assert arch.hw_arch_trait(name) == hw_trait
    assert arch.compute_arch_trait(name) == compute_trait
    for trait in (hw_trait, compute_trait):
        if trait:
            assert trait in os_traits.get_traits()


def test_every_trait_in_the_table_is_a_real_os_trait() -> None:
    known = set(os_traits.get_traits())
    for info in arch.ARCHES.values():
        for trait in (info.hw_trait, info.compute_trait):
            assert trait is None or trait in known


@pytest.mark.parametrize(
    ("host", "guest", "native"),
    [
        ("x86_64", "x86_64", True),
        ("x86_64", "i686", True),
        ("x86_64", "i386", True),
        ("x86_64", "aarch64", False),
        ("i686", "x86_64", False),
        ("aarch64", "aarch64", True),
        ("aarch64", "x86_64", False),
        ("ppc64le", "ppc64", True),
        ("s390x", "x86_64", False),
    ],
)
def test_runs_natively(host: str, guest: str, native: bool) -> None:
    assert arch.runs_natively(host, guest) is native


@pytest.mark.parametrize(
    ("name", "machine", "cpu_mode", "cpu_model", "console", "kernel_console", "emulator"),
    [
        ("x86_64", "q35", "custom", "qemu64", "serial", "ttyS0", "qemu-system-x86_64"),
        ("i686", "q35", "custom", "qemu32", "serial", "ttyS0", "qemu-system-i386"),
        ("aarch64", "virt", "custom", "cortex-a57", "serial", "ttyAMA0", "qemu-system-aarch64"),
        ("armv7l", "virt", "custom", "cortex-a15", "serial", "ttyAMA0", "qemu-system-arm"),
        ("ppc64le", "pseries", "custom", "POWER9", "serial", "hvc0", "qemu-system-ppc64le"),
        ("s390x", "s390-ccw-virtio", "maximum", None, "sclp", "ttysclp0", "qemu-system-s390x"),
        ("riscv64", "virt", None, None, "serial", "ttyS0", "qemu-system-riscv64"),
        ("mipsel", "malta", None, None, "serial", "ttyS0", "qemu-system-mipsel"),
    ],
)
def test_per_arch_defaults(
    name: str,
    machine: str,
    cpu_mode: str | None,
    cpu_model: str | None,
    console: str,
    kernel_console: str,
    emulator: str,
) -> None:
    info = arch.get(name)
    assert (info.machine, info.tcg_cpu_mode, info.tcg_cpu_model) == (machine, cpu_mode, cpu_model)
    assert (info.console_target, info.kernel_console, info.emulator) == (
        console,
        kernel_console,
        emulator,
    )
    assert info.cpu_supported is (cpu_mode is not None)


def test_only_x86_has_timers_and_apic() -> None:
    for info in arch.ARCHES.values():
        x86 = info.name in ("x86_64", "i686")
        assert bool(info.timers) is x86
        assert ("apic" in info.features) is x86


def test_get_accepts_aliases_and_rejects_unknown() -> None:
    assert arch.get("arm64") is arch.ARCHES["aarch64"]
    with pytest.raises(errors.InvalidInput):
        arch.get("vax")
    assert arch.is_known("AMD64") and not arch.is_known("vax")


@given(st.sampled_from(sorted(arch.ARCHES)), st.data())
def test_any_capitalisation_of_a_canonical_name_is_accepted(name: str, data: st.DataObject) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    mixed = "".join(c.upper() if flip else c for c, flip in zip(name, flips, strict=True))
    assert arch.canonicalize(mixed) == name
