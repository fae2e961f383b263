"""Plugging ports on a real Linux host with ``ip``: one bridge per network (a flat
network uses the bridge its physical network names, or a bridge holding that
interface), a VXLAN device on the bridge of a project network when the host has a
tunnel address, a VLAN sub-interface on the bridge of a vlan network. Bridges and
devices a plug made are removed when the last port on them is unplugged.

After every plug, unplug and refresh the rest of the data plane is made to match the
ports on the host (:meth:`LinuxBridgeNetwork.apply`): security groups
(``firewall.py``), each network's dnsmasq (``dhcp.py``), the VXLAN devices' flood
entries for the peer hosts (``fdb.py``) and the metadata proxies
(``metadata_proxy.py``).

A restarted agent adopts what it made before (:meth:`LinuxBridgeNetwork.adopt`): the
ports the control plane has bound here whose guest is still on the host are plugged
again in memory (their bridges and devices, found by name, are its own again), each
network's dnsmasq is kept when it serves what is wanted and restarted otherwise, the
rules are rewritten for all of them, and the bridges, devices, dnsmasq and DHCP
namespaces this host made that nothing uses any more are removed. Devices are marked
as this host's by their alias (``virtfleet:<host>``), so several agents on one machine
never remove each other's. The nftables tables of a network namespace are one agent's
while it filters ports there (``claims.py``): another agent's filtered port is refused,
naming the holder, and an agent with nothing to filter leaves them alone.

A kernel without 802.1Q (no ``/proc/net/vlan``: module 8021q not loaded or not
built) cannot carry vlan networks: plugging a port of one is refused, naming why."""

from __future__ import annotations

import json
import logging
import pathlib
import subprocess
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from virtfleet import errors
from virtfleet.agent.network import claims, fdb, firewall
from virtfleet.agent.network.dhcp import DhcpServers, NetworkDhcp
from virtfleet.agent.network.metadata_proxy import MetadataProxies
from virtfleet.agent.network.naming import BRIDGE_PREFIX
from virtfleet.agent.network.plugging import interfaces
from virtfleet.network.metadata_identity import Identity
from virtfleet.objects.vif import GuestVif
from virtfleet.virt.types import GuestInterface

LOG = logging.getLogger(__name__)
VXLAN_PORT = 4789
ALIAS_PREFIX = "virtfleet:"
VLAN_PROC = pathlib.Path("/proc/net/vlan")

#: Runs ``ip`` with the given arguments; returns its output, raises on failure.
IpRunner = Callable[..., str]


def run_ip(*args: str, netns: str | None = None) -> str:
    """``ip [-n NETNS] ARGS``; HypervisorError with ip's message when it fails."""
    command = ["ip", *(("-n", netns) if netns else ()), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise errors.HypervisorError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


def vxlan_name(vni: int) -> str:
    return f"vfvx-{vni}"


def vlan_name(parent: str, vlan: int) -> str:
    return f"{parent[:10]}.{vlan}"


@dataclass
class LinuxBridgeNetwork:
    """A real host's networking (``netns``: run every command in that network
    namespace, as the tests do)."""

    physical_networks: Mapping[str, str]
    tunnel_address: str | None = None
    netns: str | None = None
    vlan_proc: pathlib.Path = VLAN_PROC
    dhcp: DhcpServers | None = None
    metadata: MetadataProxies | None = None
    filtering: bool = True
    owner: str = ""  # the host's name, in the alias of the devices made here
    _ports: dict[str, tuple[str, GuestVif, GuestInterface]] = field(default_factory=dict)
    _made: dict[str, list[str]] = field(default_factory=dict)  # bridge -> devices we made
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rules_claim: claims.Claim | None = None

    def _ip(self, *args: str) -> str:
        return run_ip(*args, netns=self.netns)

    def _exists(self, device: str) -> bool:
        try:
            self._ip("link", "show", "dev", device)
        except errors.HypervisorError:
            return False
        return True

    def _is_bridge(self, device: str) -> bool:
        return "bridge" in self._ip("-d", "link", "show", "dev", device).split()

    def plug(self, instance_uuid: str, vifs: Sequence[GuestVif]) -> list[GuestInterface]:
        nics = interfaces(vifs, self.physical_networks)
        with self._lock:
            for vif, nic in zip(vifs, nics, strict=True):
                self._ensure(vif, nic.bridge)
                self._ports[vif.port_id] = (instance_uuid, vif, nic)
            try:
                self._apply()
            except errors.VirtfleetError:
                for vif in vifs:
                    self._ports.pop(vif.port_id, None)
                self._release()
                raise
        return nics

    def refresh(self, vifs: Sequence[GuestVif]) -> None:
        """New facts for ports plugged here (rules, peers, subnets); others ignored."""
        with self._lock:
            for vif in vifs:
                found = self._ports.get(vif.port_id)
                if found is not None:
                    self._ports[vif.port_id] = (found[0], vif, found[2])
            self._apply()

    def unplug(self, instance_uuid: str) -> None:
        with self._lock:
            for port_id, (owner, _, _) in list(self._ports.items()):
                if owner == instance_uuid:
                    del self._ports[port_id]
            try:
                self._apply()
            finally:
                self._release()

    def identity(self, network_id: str, address: str) -> Identity | None:
        """The guest with ``address`` on ``network_id`` here (the metadata proxy's
        lookup)."""
        with self._lock:
            for owner, vif, _ in self._ports.values():
                if vif.network_id == network_id and address in vif.fixed_ips:
                    return Identity(owner, vif.project_id, address)
        return None

    def apply(self) -> None:
        with self._lock:
            self._apply()

    def adopt(self, vifs: Sequence[GuestVif], guests: Collection[str]) -> list[str]:
        """At the agent's start: take over the ports of ``vifs`` (those bound here)
        whose server has a guest (domain) in ``guests``, make filtering, DHCP and peers
        match them, and remove the bridges, devices and dnsmasq of this host that
        nothing uses; returns the adopted port ids."""
        with self._lock:
            for vif in vifs:
                if vif.instance_uuid not in guests or vif.port_id in self._ports:
                    continue
                try:
                    [nic] = interfaces([vif], self.physical_networks)
                    self._ensure(vif, nic.bridge)
                except errors.VirtfleetError as exc:
                    LOG.error("port %s of %s not adopted: %s", vif.port_id, vif.instance_uuid, exc)
                    continue
                self._ports[vif.port_id] = (vif.instance_uuid, vif, nic)
                self._own(vif, nic.bridge)
            self._remove_strays()
            if self.dhcp is not None:
                self.dhcp.adopt(self._wanted_dhcp())
            self._apply()
            return list(self._ports)

    def _own(self, vif: GuestVif, bridge: str) -> None:
        """Count an existing bridge (and its VXLAN or VLAN device) of ``vif``'s network
        as made here, so it goes with the network's last port."""
        if vif.network_type == "flat" or bridge in self._made or not self._exists(bridge):
            return
        made = [bridge]
        if vif.network_type == "vxlan" and self._exists(vxlan_name(vif.segmentation_id or 0)):
            made.append(vxlan_name(vif.segmentation_id or 0))
        if vif.network_type == "vlan":
            parent = self.physical_networks.get(vif.physical_network or "", "")
            device = vlan_name(parent, vif.segmentation_id or 0)
            if parent and self._exists(device):
                made.append(device)
        self._made[bridge] = made

    def _remove_strays(self) -> None:
        """Delete the devices marked as this host's that no adopted port uses."""
        if not self.owner:
            return
        in_use = {device for devices in self._made.values() for device in devices}
        links = json.loads(self._ip("-j", "-d", "link", "show") or "[]")
        strays = [
            link["ifname"]
            for link in links
            if link.get("ifalias") == ALIAS_PREFIX + self.owner and link["ifname"] not in in_use
        ]
        # a bridge's VXLAN or VLAN device before the bridge
        for name in sorted(strays, key=lambda n: n.startswith(BRIDGE_PREFIX)):
            if self._exists(name):
                LOG.info("removing %s: none of this host's ports uses it", name)
                self._ip("link", "del", "dev", name)

    def _wanted_dhcp(self) -> dict[str, NetworkDhcp]:
        """What each network's dnsmasq must serve for the ports here."""
        by_network: dict[str, list[tuple[GuestVif, GuestInterface]]] = {}
        for _, vif, nic in self._ports.values():
            by_network.setdefault(vif.network_id, []).append((vif, nic))
        wanted: dict[str, NetworkDhcp] = {}
        for network_id, plugged in by_network.items():
            bridge = plugged[0][1].bridge
            served = NetworkDhcp.of(bridge, [v for v, _ in plugged], self.metadata is not None)
            if served is not None:
                wanted[network_id] = served
        return wanted

    def _apply(self) -> None:
        """Filtering, DHCP, VXLAN peers and metadata proxies for the ports here."""
        if self.filtering:
            ports = [firewall.FilteredPort(nic.tap, vif) for _, vif, nic in self._ports.values()]
            self._filter(ports)
        by_network: dict[str, list[GuestVif]] = {}
        for _, vif, _ in self._ports.values():
            by_network.setdefault(vif.network_id, []).append(vif)
        for plugged in by_network.values():
            vif = plugged[0]
            vxlan = vxlan_name(vif.segmentation_id or 0)
            if vif.network_type == "vxlan" and self.tunnel_address and self._exists(vxlan):
                peers = {p for v in plugged for p in v.vxlan_peers} - {self.tunnel_address}
                fdb.set_flood_peers(vxlan, peers, self.netns)
        wanted = self._wanted_dhcp()
        if self.dhcp is not None:
            self.dhcp.sync(wanted)
        if self.metadata is not None and self.dhcp is not None:
            self.metadata.sync({n: self.dhcp.namespace(n) for n in wanted})

    def _filter(self, ports: list[firewall.FilteredPort]) -> None:
        """Rewrite the namespace's rules for ``ports``: holding its claim while any
        port is filtered (refused when another agent holds it); with none, the tables
        are removed only when no other agent holds them."""
        if self._rules_claim is None:
            self._rules_claim = claims.namespace_claim(self.netns)
        if any(p.vif.port_security for p in ports):
            self._rules_claim.require()
            firewall.apply(ports, self.netns)
        elif self._rules_claim.take():
            try:
                firewall.apply(ports, self.netns)
            finally:
                self._rules_claim.release()

    def forget(self) -> None:
        """What the end of the agent's process does to its claims (the tests' restarts
        in one process): gives them up; the data plane stays as it is."""
        for claim in (self._rules_claim, self.dhcp.claim if self.dhcp else None):
            if claim is not None:
                claim.release()

    def _release(self) -> None:
        """Remove the bridges (and their devices) no plugged port uses any more."""
        in_use = {nic.bridge for _, _, nic in self._ports.values()}
        for bridge in [b for b in self._made if b not in in_use]:
            for device in reversed(self._made.pop(bridge)):
                if self._exists(device):
                    self._ip("link", "del", "dev", device)

    def _ensure(self, vif: GuestVif, bridge: str) -> None:
        if vif.network_type == "vlan":
            self._check_vlan_support(vif)
        if bridge in self._made or (self._exists(bridge) and vif.network_type != "flat"):
            return
        made: list[str] = []
        try:
            if vif.network_type == "flat":
                self._flat(bridge, made)
            else:
                self._bridge(bridge, vif.mtu, made)
                if vif.network_type == "vxlan" and self.tunnel_address:
                    self._vxlan(bridge, vif, made)
                elif vif.network_type == "vlan":
                    self._vlan(bridge, vif, made)
        except errors.VirtfleetError:
            for device in reversed(made):
                if self._exists(device):
                    self._ip("link", "del", "dev", device)
            raise
        if made:
            self._made[bridge] = made

    def _check_vlan_support(self, vif: GuestVif) -> None:
        if not self.vlan_proc.exists():
            raise errors.HypervisorError(
                f"port {vif.port_id} is on vlan network {vif.network_id} (VLAN "
                f"{vif.segmentation_id}), but this host's kernel has no 802.1Q VLAN support "
                f"({self.vlan_proc} is missing: load module 8021q)"
            )

    def _mark(self, device: str) -> None:
        """Mark ``device`` as made by this host (its alias), for :meth:`adopt`."""
        if self.owner:
            self._ip("link", "set", "dev", device, "alias", ALIAS_PREFIX + self.owner)

    def _bridge(self, bridge: str, mtu: int, made: list[str]) -> None:
        self._ip("link", "add", "name", bridge, "type", "bridge")
        made.append(bridge)
        self._mark(bridge)
        self._ip("link", "set", "dev", bridge, "mtu", str(mtu), "up")

    def _flat(self, device: str, made: list[str]) -> None:
        """A flat network's device: a bridge is used as it is (it must exist); an
        interface is put on a new bridge of its own."""
        if not self._exists(device):
            raise errors.HypervisorError(
                f"[network] physical_networks names {device!r}, which does not exist here"
            )
        if self._is_bridge(device):
            return
        raise errors.HypervisorError(
            f"[network] physical_networks names {device!r}, an interface, not a bridge: "
            "flat networks need a bridge (enslave the interface to one and name that)"
        )

    def _vxlan(self, bridge: str, vif: GuestVif, made: list[str]) -> None:
        assert vif.segmentation_id is not None and self.tunnel_address is not None
        name = vxlan_name(vif.segmentation_id)
        self._ip(
            "link", "add", name, "type", "vxlan", "id", str(vif.segmentation_id),
            "local", self.tunnel_address, "dstport", str(VXLAN_PORT),
        )  # fmt: skip
        made.append(name)
        self._mark(name)
        self._ip("link", "set", "dev", name, "master", bridge, "mtu", str(vif.mtu), "up")

    def _vlan(self, bridge: str, vif: GuestVif, made: list[str]) -> None:
        assert vif.segmentation_id is not None
        parent = self.physical_networks[vif.physical_network or ""]
        name = vlan_name(parent, vif.segmentation_id)
        self._ip(
            "link", "add", "link", parent, "name", name, "type", "vlan",
            "id", str(vif.segmentation_id),
        )  # fmt: skip
        made.append(name)
        self._mark(name)
        self._ip("link", "set", "dev", name, "master", bridge, "up")


__all__ = ["BRIDGE_PREFIX", "LinuxBridgeNetwork", "run_ip"]
