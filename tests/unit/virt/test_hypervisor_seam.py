"""The hypervisor seam (:mod:`virtfleet.virt.hypervisor`): every call virtfleet makes
on a connection, domain or node device exists with a compatible signature on real
libvirt-python's classes and on the simulator's."""

from __future__ import annotations

import inspect

import libvirt
import pytest

from virtfleet.virt import hypervisor
from virtfleet.virt.sim.connection import SimConnection
from virtfleet.virt.sim.devices import SimNodeDevice
from virtfleet.virt.sim.domain import SimDomain

SEAM = [
    (hypervisor.Connection, libvirt.virConnect, SimConnection),
    (hypervisor.Domain, libvirt.virDomain, SimDomain),
    (hypervisor.NodeDevice, libvirt.virNodeDevice, SimNodeDevice),
]


def members(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(value)
        for name, value in vars(protocol).items()
        if callable(value) and not name.startswith("_")
    }


def arities(signature: inspect.Signature) -> tuple[int, int]:
    """(required, most) positional arguments after ``self``."""
    params = list(signature.parameters.values())[1:]
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    return len(required), len(positional)


CASES = [
    pytest.param(protocol, impl, name, id=f"{impl.__name__}.{name}")
    for protocol, real, sim in SEAM
    for impl in (real, sim)
    for name in members(protocol)
]


@pytest.mark.parametrize(("protocol", "impl", "name"), CASES)
def test_every_seam_call_exists_and_takes_the_seam_arguments(
    protocol: type, impl: type, name: str
) -> None:
    method = getattr(impl, name, None)
    assert callable(method), f"{impl.__name__} has no {name}"
    needs_min, needs_max = arities(members(protocol)[name])
    takes_min, takes_max = arities(inspect.signature(method))
    # every call shape the seam allows is one the implementation accepts
    assert takes_min <= needs_min and takes_max >= needs_max, (
        f"{impl.__name__}.{name} takes {takes_min}..{takes_max} positional arguments, "
        f"the seam passes {needs_min}..{needs_max}"
    )


def test_the_check_sees_a_missing_argument() -> None:
    class Narrow:
        def XMLDesc(self) -> str:  # libvirt-python's name
            return ""

    assert arities(inspect.signature(Narrow.XMLDesc)) == (0, 0)
    assert arities(members(hypervisor.Domain)["XMLDesc"]) == (0, 1)
