"""One :class:`SimHypervisor` per host per :class:`Fleet` object.

Connections opened on the same fleet object share their host's hypervisor (so a domain
defined through one connection is seen through another, and migration finds its
destination); a different fleet object, even from the same file, is a separate world.
"""

from __future__ import annotations

import pathlib
import threading
import weakref

from virtfleet.virt.sim.fleet import Fleet
from virtfleet.virt.sim.hypervisor import SimHypervisor

_LOCK = threading.Lock()
_HYPERVISORS: weakref.WeakKeyDictionary[Fleet, dict[str, SimHypervisor]] = (
    weakref.WeakKeyDictionary()
)


def hypervisor_for(fleet: Fleet, name: str) -> SimHypervisor:
    """The simulated hypervisor of host ``name``; raises ``NotFound`` if not in the fleet."""
    profile = fleet.host(name)
    with _LOCK:
        hosts = _HYPERVISORS.setdefault(fleet, {})
        if name not in hosts:
            hosts[name] = SimHypervisor(profile, fleet)
        return hosts[name]


def hypervisors(fleet: Fleet) -> list[SimHypervisor]:
    """Every host of ``fleet``, in file order (created on first use)."""
    return [hypervisor_for(fleet, name) for name in fleet.names]


def persist_fleet(fleet: Fleet, directory: pathlib.Path) -> int:
    """Keep every host's domains in ``directory/<host>.json`` (loading what is there
    first): simulated guests outlive the process, as real ones outlive virtfleet.
    Returns how many domains were loaded."""
    return sum(
        host.persist_to(directory / f"{host.profile.name}.json") for host in hypervisors(fleet)
    )
