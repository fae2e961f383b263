"""The simulated hypervisor: libvirt/QEMU hosts that exist only in memory.

Operators use it to try virtfleet on fleets they do not have; tests use it; the libvirt
driver talks to it through the same libvirt-python API subset as to real libvirt.

    fleet = load_fleet("fleet.yaml")            # or default_fleet()
    conn = open_connection("sim://kvm-1", fleet)  # virtfleet.virt.connection
    conn.defineXML(xml).create()
    hypervisor_for(fleet, "kvm-1").crash("guest")  # fault injection

Modules: ``fleet`` (file format), ``profile`` (typed host), ``machines`` (QEMU machine
types per arch), ``capabilities`` (capabilities XML), ``domxml`` / ``startcheck`` (what
libvirt refuses at define / start), ``nodedev`` (GPUs, mdevs), ``hypervisor`` (state,
events, faults), ``connection`` / ``domain`` / ``devices`` (the libvirt-python look-alikes),
``events`` (the event thread), ``migration``,
``registry`` (one hypervisor per host per fleet), ``errors`` (real libvirtError objects).
"""

from __future__ import annotations

from virtfleet.virt.sim.connection import SimConnection
from virtfleet.virt.sim.devices import SimNodeDevice
from virtfleet.virt.sim.domain import SimDomain
from virtfleet.virt.sim.errors import libvirt_error
from virtfleet.virt.sim.fleet import Fleet, default_fleet, load_fleet
from virtfleet.virt.sim.hypervisor import MIGRATION_PHASES, SimHypervisor
from virtfleet.virt.sim.profile import Gpu, HostProfile, MdevType, SliceSpec, Version
from virtfleet.virt.sim.registry import hypervisor_for, hypervisors
from virtfleet.virt.types import NumaCell

__all__ = [
    "MIGRATION_PHASES",
    "Fleet",
    "Gpu",
    "HostProfile",
    "MdevType",
    "NumaCell",
    "SimConnection",
    "SimDomain",
    "SimHypervisor",
    "SimNodeDevice",
    "SliceSpec",
    "Version",
    "default_fleet",
    "hypervisor_for",
    "hypervisors",
    "libvirt_error",
    "load_fleet",
]
