"""What the scheduler asks of hosts about the guest: whether a host runs the guest
architecture (natively or under TCG) and which machine type it would get. The guest
facts themselves come resolved in :attr:`RequestSpec.guest
<virtfleet.scheduler.resource_request.RequestSpec.guest>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from virtfleet.virt import arch as virt_arch


def default_machine(arch: str) -> str | None:
    """The machine type the driver picks for ``arch`` guests, None for unknown arches."""
    info = virt_arch.ARCHES.get(arch)
    return info.machine if info else None


def host_arch(cpu_info: Mapping[str, Any]) -> str:
    return str(cpu_info.get("arch", ""))


def runs_natively(cpu_info: Mapping[str, Any], arch: str) -> bool:
    """Whether a host with ``cpu_info`` runs ``arch`` guests without emulation."""
    return arch == host_arch(cpu_info) or arch in (cpu_info.get("native_arches") or ())


def can_run(cpu_info: Mapping[str, Any], arch: str) -> bool:
    """Whether a host with ``cpu_info`` runs ``arch`` guests natively or under TCG."""
    return runs_natively(cpu_info, arch) or arch in (cpu_info.get("emulated_arches") or ())
