"""Real libvirt hosts with a network namespace each (scripts/libvirt-hosts.sh with
``VIRTFLEET_HOSTS_NETNS=1``) and the underlay a test wires between them: a flat
provider bridge on each host joined by a veth pair, a routed veth pair carrying the
VXLAN tunnel addresses, and a veth pair whose ends can parent VLAN sub-interfaces.
Addresses are documentation ones (203.0.113.0/28); nothing is routed off the machine.

And what a test inspects afterwards: the devices, DHCP namespaces, dnsmasq processes
and nftables tables a host's agent left behind."""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from support.ci import unavailable

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "libvirt-hosts.sh"
FLAT_BRIDGE = "brflat"  # the operator's bridge of the flat physical network, on each host
FLAT_LINK = "ulflat"  # veth joining the two hosts' flat bridges
TUNNEL_LINK = "ultun"  # veth carrying the tunnel addresses
VLAN_LINK = "ulvlan"  # veth parenting vlan networks' sub-interfaces
TUNNEL_PREFIX = 28
TUNNEL_ADDRESSES = ("203.0.113.1", "203.0.113.2")
#: Devices the agent makes (and must remove): taps, network bridges, VXLAN devices,
#: DHCP veths (and VLAN sub-interfaces, PARENT.ID).
AGENT_DEVICE_PREFIXES = ("tap", "vfbr-", "vfvx-", "vfd")


def sh(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done


def hosts_script(*args: str) -> str:
    env = {**os.environ, "VIRTFLEET_HOSTS_NETNS": "1"}
    done = subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout.strip()


@dataclass(frozen=True)
class NetnsHost:
    """One namespaced libvirt host: its name, libvirt URI, network namespace and
    tunnel address."""

    name: str
    uri: str
    netns: str
    tunnel_address: str

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "-n", self.netns, *args, check=check)

    def links(self) -> list[str]:
        """Names of the namespace's network devices."""
        names = []
        for line in self.ip("-o", "link", "show").stdout.splitlines():
            names.append(line.split(":")[1].strip().split("@")[0])
        return names

    def agent_devices(self) -> list[str]:
        return [n for n in self.links() if n.startswith(AGENT_DEVICE_PREFIXES) or "." in n]

    def nft_tables(self) -> str:
        return sh("ip", "netns", "exec", self.netns, "nft", "list", "tables").stdout

    def dhcp_namespaces(self) -> list[str]:
        found = sh("ip", "netns", "list").stdout.split()
        return [n for n in found if n.startswith(f"{self.netns}-dhcp-")]


def vlan_unsupported(host: NetnsHost) -> str | None:
    """Why ``host``'s kernel cannot carry VLANs (``ip link add ... type vlan`` failing,
    e.g. no module 8021q), or None when it can."""
    probe = f"{VLAN_LINK}.4094"
    made = host.ip("link", "add", "link", VLAN_LINK, "name", probe, "type", "vlan", "id", "4094",
                   check=False)  # fmt: skip
    if made.returncode != 0:
        return (
            f"this kernel has no 802.1Q VLAN support (module 8021q): 'ip link add link "
            f"{VLAN_LINK} name {probe} type vlan id 4094' failed: {made.stderr.strip()}"
        )
    host.ip("link", "del", "dev", probe)
    return None


def wire(first: NetnsHost, second: NetnsHost) -> None:
    """The underlay between the two hosts' namespaces."""
    for host in (first, second):
        host.ip("link", "add", FLAT_BRIDGE, "type", "bridge")
        host.ip("link", "set", FLAT_BRIDGE, "up")
    for link in (FLAT_LINK, TUNNEL_LINK, VLAN_LINK):
        first.ip("link", "add", link, "type", "veth", "peer", "name", link, "netns", second.netns)
    for host in (first, second):
        host.ip("link", "set", FLAT_LINK, "master", FLAT_BRIDGE, "up")
        host.ip("addr", "add", f"{host.tunnel_address}/{TUNNEL_PREFIX}", "dev", TUNNEL_LINK)
        host.ip("link", "set", TUNNEL_LINK, "up")
        host.ip("link", "set", VLAN_LINK, "up")


@contextlib.contextmanager
def netns_hosts(names: Sequence[str]) -> Iterator[list[NetnsHost]]:
    """Namespaced libvirt hosts ``names`` (two) wired together; purged afterwards
    (their namespaces, and every device in them, with them)."""
    if not SCRIPT.exists():
        unavailable("scripts/libvirt-hosts.sh is missing")
    try:
        hosts_script("purge", *names)  # what a killed run may have left
        hosts_script("start", *names)
        hosts = [
            NetnsHost(name, hosts_script("uri", name), f"vfhost-{name}", address)
            for name, address in zip(names, TUNNEL_ADDRESSES, strict=True)
        ]
        wire(*hosts)
        yield hosts
    finally:
        hosts_script("purge", *names)


def dnsmasq_processes(directory: pathlib.Path) -> list[int]:
    """Pids of dnsmasq processes whose command line names ``directory``."""
    found = []
    for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text.startswith("dnsmasq") and str(directory) in text:
            found.append(int(cmdline.parent.name))
    return found
