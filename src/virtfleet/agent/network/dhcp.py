"""DHCP for guests: one dnsmasq per network on each host with ports of that network,
in a network namespace of its own (``vfdhcp-<network id's first 10>``, or
``<host namespace>-dhcp-...`` for a host in a namespace of its own) joined to the
network's bridge by a veth pair (``vfd<network id's first 10>`` on the bridge,
``dhcp`` inside), holding this host's DHCP port addresses (and 169.254.169.254 when
the host serves metadata).

dnsmasq serves fixed addresses only (``static`` ranges): one host entry per port of
the network on this host (MAC → address), with the subnet's gateway, DNS servers, host
routes and the network's MTU, and a route to the metadata address through the DHCP
port. Other hosts' dnsmasq on the same network ignore this host's guests (they know
only their own). A change of the entries rewrites the files and sends SIGHUP; a change
of the subnets restarts dnsmasq; a network without ports here loses its dnsmasq,
namespace and files.

IPv6 subnets are served as their ``ipv6_address_mode``/``ipv6_ra_mode`` say
(Neutron's attributes): dhcpv6-stateful (or no mode) by DHCPv6 with the ports'
addresses, slaac by router advertisements only (the ports' addresses are the EUI-64
ones the guests make), dhcpv6-stateless by both (SLAAC plus DHCPv6 options). Router
advertisements are sent when a subnet has ``ipv6_ra_mode``, with router lifetime 0.

A restarted agent adopts the dnsmasq it finds in its state directory
(:meth:`DhcpServers.adopt`): one still serving what is wanted (the same command line,
interface addresses and bridge) is kept and reloaded with fresh files; any other is
stopped, with its namespace, veth and files. The state directory is claimed
(``claims.py``) while its dnsmasq run, so a second agent given the same directory is
refused, naming the first, instead of stopping the first one's dnsmasq.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import pathlib
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from virtfleet import errors
from virtfleet.agent.network.claims import Claim, state_directory_claim
from virtfleet.network.metadata_identity import METADATA_ADDRESS
from virtfleet.objects.vif import GuestSubnet, GuestVif

LOG = logging.getLogger(__name__)
NAMESPACE_PREFIX = "vfdhcp-"
VETH_PREFIX = "vfd"
INSIDE = "dhcp"
LEASE_SECONDS = 86400


def namespace_name(network_id: str, prefix: str = NAMESPACE_PREFIX) -> str:
    return prefix + network_id[:10]


def veth_name(network_id: str) -> str:
    return VETH_PREFIX + network_id[:10]


def run(command: Sequence[str], netns: str | None = None) -> str:
    """``command`` (in ``netns`` when given); HypervisorError with its message."""
    full = [*(("ip", "netns", "exec", netns) if netns else ()), *command]
    try:
        done = subprocess.run(full, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        raise errors.HypervisorError(f"{full[0]} is not installed") from None
    if done.returncode != 0:
        raise errors.HypervisorError(f"{' '.join(full)} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class DhcpSubnet:
    """A subnet as dnsmasq serves it (comparable, unlike the RPC object)."""

    subnet_id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    dns_nameservers: tuple[str, ...]
    host_routes: tuple[str, ...]
    dhcp_address: str
    ipv6_address_mode: str | None = None
    ipv6_ra_mode: str | None = None

    @classmethod
    def of(cls, subnet: GuestSubnet) -> DhcpSubnet:
        return cls(
            subnet.subnet_id,
            subnet.cidr,
            subnet.ip_version,
            subnet.gateway_ip,
            tuple(subnet.dns_nameservers),
            tuple(subnet.host_routes),
            subnet.dhcp_address or "",
            subnet.ipv6_address_mode,
            subnet.ipv6_ra_mode,
        )

    @property
    def v6_range_mode(self) -> str | None:
        """The dnsmasq range mode of an IPv6 subnet: ``static`` (DHCPv6 hands out the
        ports' addresses: dhcpv6-stateful, or no mode), ``ra-stateless`` (SLAAC plus
        DHCPv6 options), ``ra-only`` (SLAAC); None for a SLAAC subnet whose router
        advertisements come from elsewhere (no ``ipv6_ra_mode``)."""
        mode = self.ipv6_address_mode
        if mode == "dhcpv6-stateless":
            return "ra-stateless" if self.ipv6_ra_mode else None
        if mode == "slaac":
            return "ra-only" if self.ipv6_ra_mode else None
        return "static"

    @property
    def automatic(self) -> bool:
        """Whether guests make their own addresses here (SLAAC)."""
        return self.ipv6_address_mode in ("slaac", "dhcpv6-stateless")


@dataclass(frozen=True)
class DhcpHost:
    port_id: str
    mac_address: str
    fixed_ips: tuple[str, ...]


@dataclass(frozen=True)
class NetworkDhcp:
    """What one network's dnsmasq serves on this host."""

    network_id: str
    bridge: str
    mtu: int
    subnets: tuple[DhcpSubnet, ...]
    ports: tuple[DhcpHost, ...]
    metadata: bool

    @classmethod
    def of(cls, bridge: str, vifs: Sequence[GuestVif], metadata: bool) -> NetworkDhcp | None:
        """The DHCP of one network's ports here; None when no subnet has DHCP on
        with an address for this host's DHCP port."""
        first = vifs[0]
        served = tuple(DhcpSubnet.of(s) for s in first.subnets if s.enable_dhcp and s.dhcp_address)
        if not served:
            return None
        hosts = tuple(
            sorted(
                (DhcpHost(v.port_id, v.mac_address.lower(), tuple(v.fixed_ips)) for v in vifs),
                key=lambda h: h.port_id,
            )
        )
        return cls(first.network_id, bridge, first.mtu, served, hosts, metadata)

    def addresses(self) -> list[str]:
        """The DHCP interface's addresses (CIDR form)."""
        found = []
        for subnet in self.subnets:
            length = ipaddress.ip_network(subnet.cidr).prefixlen
            found.append(f"{subnet.dhcp_address}/{length}")
        if self.metadata:
            found.append(f"{METADATA_ADDRESS}/32")
        return found

    def hosts_file(self) -> str:
        lines = []
        for vif in self.ports:
            for address in vif.fixed_ips:
                served = [s for s in self.subnets if ipaddress.ip_address(address) in _net(s)]
                if not served or served[0].automatic:
                    continue
                shown = f"[{address}]" if ":" in address else address
                name = "host-" + address.replace(".", "-").replace(":", "-")
                lines.append(f"{vif.mac_address},{name},{shown}")
        return "".join(line + "\n" for line in lines)

    def options_file(self) -> str:
        lines = []
        for subnet in self.subnets:
            if subnet.ip_version != 4:
                if subnet.dns_nameservers:
                    servers = ",".join(f"[{s}]" for s in subnet.dns_nameservers)
                    lines.append(f"tag:{_tag(subnet)},option6:dns-server,{servers}")
                continue
            tag = f"tag:{_tag(subnet)}"
            routes = []
            if self.metadata and subnet.dhcp_address:
                routes.append(f"{METADATA_ADDRESS}/32,{subnet.dhcp_address}")
            for route in subnet.host_routes:
                destination, nexthop = route.split(",")
                routes.append(f"{destination},{nexthop}")
            if subnet.gateway_ip:
                lines.append(f"{tag},option:router,{subnet.gateway_ip}")
                routes.append(f"0.0.0.0/0,{subnet.gateway_ip}")
            else:
                lines.append(f"{tag},option:router")
            if routes:
                lines.append(f"{tag},option:classless-static-route,{','.join(routes)}")
            v4_servers = [s for s in subnet.dns_nameservers if ":" not in s]
            lines.append(f"{tag},option:dns-server" + "".join(f",{s}" for s in v4_servers))
            lines.append(f"{tag},option:mtu,{self.mtu}")
        return "".join(line + "\n" for line in lines)

    def arguments(self, directory: pathlib.Path) -> list[str]:
        """dnsmasq's command line (its files in ``directory``)."""
        args = [
            "dnsmasq",
            "--no-hosts",
            "--no-resolv",
            "--port=0",
            "--bind-interfaces",
            f"--interface={INSIDE}",
            "--except-interface=lo",
            "--leasefile-ro",
            "--dhcp-authoritative",
            "--dhcp-no-override",
            f"--pid-file={directory / 'pid'}",
            f"--dhcp-hostsfile={directory / 'hosts'}",
            f"--dhcp-optsfile={directory / 'opts'}",
            f"--log-facility={directory / 'log'}",
            "--log-dhcp",
        ]
        for subnet in self.subnets:
            network = _net(subnet)
            if network.version == 4:
                args.append(
                    f"--dhcp-range=set:{_tag(subnet)},{network.network_address},static,"
                    f"{network.netmask},{LEASE_SECONDS}s"
                )
            elif subnet.v6_range_mode is not None:
                args.append(
                    f"--dhcp-range=set:{_tag(subnet)},{network.network_address},"
                    f"{subnet.v6_range_mode},{network.prefixlen},{LEASE_SECONDS}s"
                )
        if any(s.ip_version == 6 and s.ipv6_ra_mode for s in self.subnets):
            # router advertisements (SLAAC prefix, M/O flags) with a router lifetime of
            # 0: the DHCP namespace is no router, so guests take no default route from it
            args += ["--enable-ra", f"--ra-param={INSIDE},mtu:{self.mtu},60,0"]
        return args


def _net(subnet: DhcpSubnet) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(subnet.cidr)


def _tag(subnet: DhcpSubnet) -> str:
    return "subnet-" + subnet.subnet_id[:8]


@dataclass
class DhcpServers:
    """The dnsmasq of each network on this host (``netns``: the host's own network
    namespace, as the tests' namespaced hosts have; ``directory``: where each
    network's files live)."""

    directory: pathlib.Path
    netns: str | None = None
    namespace_prefix: str = NAMESPACE_PREFIX
    running: dict[str, NetworkDhcp] = field(default_factory=dict)
    _claim: Claim | None = field(default=None, repr=False)

    @property
    def claim(self) -> Claim:
        """The claim on the state directory (held while a dnsmasq of it runs)."""
        if self._claim is None:
            self._claim = state_directory_claim(self.directory)
        return self._claim

    def namespace(self, network_id: str) -> str:
        """The network namespace of the network's dnsmasq (names are machine-wide)."""
        return namespace_name(network_id, self.namespace_prefix)

    def _ip(self, *args: str) -> str:
        return run(["ip", *args], self.netns)

    def sync(self, wanted: Mapping[str, NetworkDhcp]) -> None:
        """Make the dnsmasq of each network match ``wanted`` (by network id); stop
        the others."""
        for network_id in [n for n in self.running if n not in wanted]:
            self.stop(network_id)
        if wanted:
            self.claim.require()
        for network_id, dhcp in wanted.items():
            current = self.running.get(network_id)
            if current == dhcp:
                continue
            if current is None or _restart_needed(current, dhcp):
                if current is not None:
                    self.stop(network_id)
                self._start(dhcp)
            else:
                self._write(dhcp)
                self._signal(dhcp.network_id, signal.SIGHUP)
            self.running[network_id] = dhcp
        if not self.running:
            self.claim.release()

    def adopt(self, wanted: Mapping[str, NetworkDhcp]) -> list[str]:
        """At the agent's start: keep each dnsmasq of the state directory that serves
        what ``wanted`` asks of its network (its files rewritten, SIGHUP), stop every
        other one (namespace, veth and files removed); returns the kept networks.
        :meth:`sync` then starts the missing ones."""
        kept = []
        listed = self.directory.iterdir() if self.directory.is_dir() else iter(())
        found = sorted(p.name for p in listed if p.is_dir())
        if found:
            self.claim.require()  # what is there may be another agent's
        for network_id in found:
            if network_id in self.running:
                continue
            dhcp = wanted.get(network_id)
            if dhcp is not None and self._serves(dhcp):
                self._write(dhcp)
                self._signal(network_id, signal.SIGHUP)
                self.running[network_id] = dhcp
                kept.append(network_id)
                LOG.info("network %s: its dnsmasq adopted", network_id)
            else:
                LOG.info("network %s: stopping a dnsmasq this host no longer wants", network_id)
                self._remove(network_id)
        if not self.running:
            self.claim.release()
        return kept

    def _serves(self, dhcp: NetworkDhcp) -> bool:
        """Whether the network's running dnsmasq serves ``dhcp`` as a start would."""
        pid = self._pid(dhcp.network_id)
        if pid is None or not _alive(pid):
            return False
        try:
            command = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        except OSError:
            return False
        if command.rstrip("\0").split("\0") != dhcp.arguments(self._files(dhcp.network_id)):
            return False
        namespace, veth = self.namespace(dhcp.network_id), veth_name(dhcp.network_id)
        try:
            shown = json.loads(run(["ip", "-j", "addr", "show", "dev", INSIDE], namespace))
            outside = json.loads(self._ip("-j", "link", "show", "dev", veth))
        except (errors.HypervisorError, ValueError):
            return False
        addresses = {
            f"{a['local']}/{a['prefixlen']}"
            for i in shown
            for a in i["addr_info"]
            if not a["local"].startswith("fe80:")
        }
        inside_mtu = {i.get("mtu") for i in shown}
        return (
            addresses == set(dhcp.addresses())
            and inside_mtu == {dhcp.mtu}
            and outside[0].get("master") == dhcp.bridge
        )

    def _files(self, network_id: str) -> pathlib.Path:
        return self.directory / network_id

    def _write(self, dhcp: NetworkDhcp) -> None:
        directory = self._files(dhcp.network_id)
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in (("hosts", dhcp.hosts_file()), ("opts", dhcp.options_file())):
            partial = directory / (name + ".new")
            partial.write_text(text)
            partial.replace(directory / name)

    def _start(self, dhcp: NetworkDhcp) -> None:
        namespace, veth = self.namespace(dhcp.network_id), veth_name(dhcp.network_id)
        self._write(dhcp)
        try:
            if namespace not in run(["ip", "netns", "list"]).split():
                run(["ip", "netns", "add", namespace])
            if not _exists(self.netns, veth):
                self._ip(
                    "link", "add", veth, "mtu", str(dhcp.mtu), "type", "veth",
                    "peer", "name", INSIDE, "mtu", str(dhcp.mtu), "netns", namespace,
                )  # fmt: skip
            self._ip("link", "set", "dev", veth, "master", dhcp.bridge, "up")
            run(["ip", "link", "set", "dev", "lo", "up"], namespace)
            run(["ip", "link", "set", "dev", INSIDE, "up"], namespace)
            run(["ip", "addr", "flush", "dev", INSIDE, "scope", "global"], namespace)  # keep fe80::
            for address in dhcp.addresses():
                run(["ip", "addr", "add", address, "dev", INSIDE, "nodad"], namespace)
            run(dhcp.arguments(self._files(dhcp.network_id)), namespace)
        except errors.VirtfleetError:
            self._remove(dhcp.network_id)
            raise

    def _pid(self, network_id: str) -> int | None:
        try:
            return int((self._files(network_id) / "pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _signal(self, network_id: str, sig: signal.Signals) -> None:
        pid = self._pid(network_id)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def stop(self, network_id: str) -> None:
        """Stop the network's dnsmasq and remove its namespace, veth and files."""
        self.running.pop(network_id, None)
        self._remove(network_id)

    def _remove(self, network_id: str) -> None:
        pid = self._pid(network_id)
        if pid is not None:
            self._signal(network_id, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.02)
        # the veth before the namespace: deleting the namespace destroys the pair too,
        # but in the background, so a veth seen a moment later may be gone when deleted
        veth = veth_name(network_id)
        if _exists(self.netns, veth):
            try:
                self._ip("link", "del", "dev", veth)
            except errors.HypervisorError:
                if _exists(self.netns, veth):
                    raise
        namespace = self.namespace(network_id)
        if namespace in run(["ip", "netns", "list"]).split():
            run(["ip", "netns", "del", namespace])
        shutil.rmtree(self._files(network_id), ignore_errors=True)


def _restart_needed(current: NetworkDhcp, wanted: NetworkDhcp) -> bool:
    return (current.subnets, current.bridge, current.mtu, current.metadata) != (
        wanted.subnets,
        wanted.bridge,
        wanted.mtu,
        wanted.metadata,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return pathlib.Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return pathlib.Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return ""


def _exists(netns: str | None, device: str) -> bool:
    try:
        run(["ip", "link", "show", "dev", device], netns)
    except errors.HypervisorError:
        return False
    return True
