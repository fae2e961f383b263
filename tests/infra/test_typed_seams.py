"""The RPC and hypervisor seams are fully typed: no ``Any`` in their modules (mypy
--strict then checks every value that crosses them)."""

from __future__ import annotations

import io
import pathlib
import tokenize

import pytest

import virtfleet

PACKAGE = pathlib.Path(virtfleet.__file__).parent

#: The RPC seam: the transport, typed clients, the endpoints they call, and the
#: objects that travel.
RPC_SEAM = (
    "rpc/transport.py",
    "rpc/oslo.py",
    "agent/rpcapi.py",
    "agent/manager.py",
    "agent/migration.py",
    "agent/orphans.py",
    "conductor/manager.py",
    "objects/rpc_results.py",
)

#: The hypervisor seam: the driver interface, the connection/domain protocols, the
#: driver and the code that calls the connection, and the simulator's objects.
HYPERVISOR_SEAM = (
    "virt/driver.py",
    "virt/hypervisor.py",
    "virt/types.py",
    "virt/connection.py",
    "virt/libvirt/driver.py",
    "virt/libvirt/host.py",
    "virt/libvirt/migration.py",
    "virt/libvirt/mdev.py",
    "virt/libvirt/settle.py",
    "virt/libvirt/slices/host.py",
    "virt/libvirt/slices/holdings.py",
    "virt/sim/connection.py",
    "virt/sim/domain.py",
    "virt/sim/devices.py",
    "virt/sim/migration.py",
    "agent/mdev/assign.py",
    "agent/mdev/host.py",
    "agent/mdev/providers.py",
)


def any_lines(source: str) -> list[int]:
    """Lines where the name ``Any`` is used (comments and strings aside)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [t.start[0] for t in tokens if t.type == tokenize.NAME and t.string == "Any"]


@pytest.mark.parametrize("module", RPC_SEAM + HYPERVISOR_SEAM)
def test_no_any_on_the_seam(module: str) -> None:
    path = PACKAGE / module
    assert path.exists(), f"{module} moved: update the seam list"
    assert any_lines(path.read_text()) == [], f"{module} uses Any"


def test_the_count_sees_any_in_code_only() -> None:
    source = 'from typing import Any\nx: "Any" = 1  # Any\ny: list[Any] = []\n'
    assert any_lines(source) == [1, 3]
