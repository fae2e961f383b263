"""Plugging a guest's ports on its host, before the guest starts, and unplugging them
after it is gone.

:class:`RecordingHostNetwork` is what simulated hosts use: it records the bridges, the
taps on them and each port's security groups, without touching the machine."""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from virtfleet.agent.network.naming import bridge_name, tap_name
from virtfleet.objects.vif import GuestVif
from virtfleet.virt.types import GuestInterface


class HostNetwork(Protocol):
    """What the agent asks of its host's networking."""

    def plug(self, instance_uuid: str, vifs: Sequence[GuestVif]) -> list[GuestInterface]: ...

    def unplug(self, instance_uuid: str) -> None: ...

    def refresh(self, vifs: Sequence[GuestVif]) -> None:
        """New facts (rules, VXLAN peers, subnets) for ports plugged here."""

    def adopt(self, vifs: Sequence[GuestVif], guests: Collection[str]) -> list[str]:
        """At the agent's start: take over the ports bound here (``vifs``) whose
        server has a guest in ``guests``, as if plugged by this agent, and remove what
        belongs to none of them; returns the adopted port ids."""


def interfaces(
    vifs: Sequence[GuestVif], physical_networks: Mapping[str, str]
) -> list[GuestInterface]:
    """The guest's NICs for ``vifs`` on this host."""
    return [
        GuestInterface(
            port_id=vif.port_id,
            mac_address=vif.mac_address,
            bridge=bridge_name(vif, physical_networks),
            tap=tap_name(vif.port_id),
            mtu=vif.mtu,
        )
        for vif in vifs
    ]


@dataclass
class PluggedPort:
    instance_uuid: str
    vif: GuestVif
    interface: GuestInterface


@dataclass
class RecordingHostNetwork:
    """A simulated host's networking: what would be plumbed, recorded."""

    physical_networks: Mapping[str, str] = field(default_factory=dict)
    ports: dict[str, PluggedPort] = field(default_factory=dict)  # by port id
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plug(self, instance_uuid: str, vifs: Sequence[GuestVif]) -> list[GuestInterface]:
        nics = interfaces(vifs, self.physical_networks)
        with self._lock:
            for vif, nic in zip(vifs, nics, strict=True):
                self.ports[vif.port_id] = PluggedPort(instance_uuid, vif, nic)
        return nics

    def unplug(self, instance_uuid: str) -> None:
        with self._lock:
            for port_id in [p for p, v in self.ports.items() if v.instance_uuid == instance_uuid]:
                del self.ports[port_id]

    def refresh(self, vifs: Sequence[GuestVif]) -> None:
        with self._lock:
            for vif in vifs:
                if vif.port_id in self.ports:
                    self.ports[vif.port_id].vif = vif

    def adopt(self, vifs: Sequence[GuestVif], guests: Collection[str]) -> list[str]:
        kept = [v for v in vifs if v.instance_uuid in guests]
        nics = interfaces(kept, self.physical_networks)
        with self._lock:
            for vif, nic in zip(kept, nics, strict=True):
                self.ports.setdefault(vif.port_id, PluggedPort(vif.instance_uuid, vif, nic))
            return list(self.ports)

    @property
    def bridges(self) -> dict[str, set[str]]:
        """Bridge -> taps on it (a bridge exists while a port uses it)."""
        found: dict[str, set[str]] = {}
        with self._lock:
            for port in self.ports.values():
                found.setdefault(port.interface.bridge, set()).add(port.interface.tap)
        return found

    @property
    def rules(self) -> dict[str, list[str]]:
        """Tap -> security groups filtering it (ports with port security on)."""
        with self._lock:
            return {
                p.interface.tap: list(p.vif.security_group_ids)
                for p in self.ports.values()
                if p.vif.port_security
            }
