"""Security groups and anti-spoofing as nftables rules on a Linux host.

The kernel here has no bridge connection tracking, so filtering is split in two tables,
both rewritten whole, in one ``nft`` transaction, whenever a port or a rule changes:

- ``bridge virtfleet``: frames a guest sends (``iifname tap...``) must carry its MAC,
  be ARP, IPv4 or IPv6 from its own addresses (DHCP discovery from 0.0.0.0 and IPv6
  link-local/unspecified addresses allowed), and never be DHCP server replies; what
  passes gets the port's number in the low 16 bits of the packet mark. Frames the
  bridge forwards to a guest get that guest's number in the high 16 bits.
- ``inet virtfleet``: the bridged IP packets again (``br_netfilter``, so with
  connection tracking): established and related flows pass, invalid ones are dropped;
  a new flow passes the sender's egress rules (``eg-N``, ``return`` on a match, drop
  otherwise) and then the receiver's ingress rules (``in-N``, accept on a match, drop
  otherwise). DHCP and IPv6 neighbour discovery always pass, as in Neutron.

A port without port security has no number and is not filtered. With no filtered port
left both tables are deleted.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from virtfleet import errors
from virtfleet.objects.vif import GuestRule, GuestVif

TABLE = "virtfleet"
PORTED = {"tcp": "tcp", "udp": "udp", "sctp": "sctp", "6": "tcp", "17": "udp", "132": "sctp"}
ICMP4 = ("icmp", "1")
ICMP6 = ("icmpv6", "ipv6-icmp", "58")
ND_TYPES = "{ nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert }"
MAX_PORTS = 0xFFFF


@dataclass(frozen=True)
class FilteredPort:
    """A guest port on this host: its tap device and what it carries."""

    tap: str
    vif: GuestVif


def link_local(mac: str) -> str:
    """The IPv6 link-local address a guest derives from ``mac`` (modified EUI-64)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return str(ipaddress.IPv6Address("fe80::" + ":".join(groups)))


def _addresses(vif: GuestVif, version: int) -> list[str]:
    return [a for a in vif.fixed_ips if ipaddress.ip_address(a).version == version]


def _set(items: Sequence[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def _spoof_chain(number: int, port: FilteredPort) -> list[str]:
    vif, mac = port.vif, port.vif.mac_address.lower()
    v4, v6 = _addresses(vif, 4), _addresses(vif, 6)
    lines = [
        f"ether saddr != {mac} drop",
        "ether type != { arp, ip, ip6 } drop",
        f"arp saddr ether != {mac} drop",
        f"arp saddr ip != {_set([*v4, '0.0.0.0'])} drop",  # noqa: S104  an address, not a bind
        "udp sport 67 drop",  # guests are no DHCP servers
        f"ip saddr 0.0.0.0 udp sport 68 udp dport 67 meta mark set meta mark | {number:#x} return",
        f"ip saddr != {_set(v4)} drop" if v4 else "ether type ip drop",
        "udp sport 547 drop",
        f"ip6 saddr != {_set([*v6, link_local(mac), '::'])} drop",
        f"meta mark set meta mark | {number:#x}",
    ]
    return lines


def _remote(rule: GuestRule, family: str, direction: str) -> str | None:
    """The address match of ``rule`` ('' for any), None when it can match nothing."""
    if rule.remote_any:
        return ""
    version = 4 if family == "ip" else 6
    prefixes = [
        p for p in rule.remote_prefixes if ipaddress.ip_network(p, strict=False).version == version
    ]
    if not prefixes:
        return None
    side = "saddr" if direction == "ingress" else "daddr"
    return f"{family} {side} {_set(prefixes)} "


def _protocol(rule: GuestRule, family: str) -> str | None:
    """The protocol match of ``rule`` ('' for any), None when it cannot apply to the
    family (ICMP for IPv6, ICMPv6 for IPv4)."""
    proto = (rule.protocol or "").lower()
    low, high = rule.port_range_min, rule.port_range_max
    if not proto or proto == "any":
        return f"meta nfproto {'ipv4' if family == 'ip' else 'ipv6'} "
    if proto in PORTED:
        name = PORTED[proto]
        if low is None:
            return f"meta nfproto {'ipv4' if family == 'ip' else 'ipv6'} meta l4proto {name} "
        ports = str(low) if low == high else f"{low}-{high}"
        return f"meta nfproto {'ipv4' if family == 'ip' else 'ipv6'} {name} dport {ports} "
    if proto in ICMP4 + ICMP6:
        icmp = "icmp" if family == "ip" else "icmpv6"
        if (proto in ICMP4) != (family == "ip") and proto != "icmp":
            return None
        match = f"meta l4proto {'icmp' if family == 'ip' else 'ipv6-icmp'} "
        if low is not None:
            match += f"{icmp} type {low} "
            if high is not None:
                match += f"{icmp} code {high} "
        return match
    return f"meta nfproto {'ipv4' if family == 'ip' else 'ipv6'} meta l4proto {proto} "


def rule_lines(rule: GuestRule, verdict: str) -> list[str]:
    """The nft statements of one security-group rule (none if it matches nothing)."""
    family = "ip" if rule.ethertype == "IPv4" else "ip6"
    remote = _remote(rule, family, rule.direction)
    protocol = _protocol(rule, family)
    if remote is None or protocol is None:
        return []
    return [f"{protocol}{remote}{verdict}".replace("  ", " ")]


def _egress_chain(port: FilteredPort) -> list[str]:
    lines = [
        "udp sport 68 udp dport 67 return",
        f"icmpv6 type {ND_TYPES} return",
        "udp sport 546 udp dport 547 return",
    ]
    for rule in port.vif.rules:
        if rule.direction == "egress":
            lines += rule_lines(rule, "return")
    return [*lines, "drop"]


def _ingress_chain(port: FilteredPort) -> list[str]:
    lines = [
        "udp sport 67 udp dport 68 accept",
        f"icmpv6 type {ND_TYPES} accept",
        "udp sport 547 udp dport 546 accept",
    ]
    for rule in port.vif.rules:
        if rule.direction == "ingress":
            lines += rule_lines(rule, "accept")
    return [*lines, "drop"]


def _chain(name: str, lines: Sequence[str], hook: str | None = None) -> list[str]:
    head = [f"  chain {name} {{"]
    if hook:
        head.append(f"    {hook}")
    return [*head, *(f"    {line}" for line in lines), "  }"]


def ruleset(ports: Sequence[FilteredPort]) -> str:
    """The ``nft -f`` text that makes both tables filter exactly ``ports`` (ports
    without port security are left out); deletes them when none is filtered."""
    filtered = sorted((p for p in ports if p.vif.port_security), key=lambda p: p.tap)
    if len(filtered) > MAX_PORTS:
        raise errors.HypervisorError(f"more than {MAX_PORTS} filtered ports on one host")
    text = [
        f"table bridge {TABLE} {{}}",
        f"delete table bridge {TABLE}",
        f"table inet {TABLE} {{}}",
        f"delete table inet {TABLE}",
    ]
    if not filtered:
        return "\n".join(text) + "\n"
    bridge = [f"table bridge {TABLE} {{"]
    inet = [f"table inet {TABLE} {{"]
    prerouting, forward = [], []
    egress_jumps, ingress_jumps = [], []
    for number, port in enumerate(filtered, start=1):
        bridge += _chain(f"spoof-{number}", _spoof_chain(number, port))
        prerouting.append(f'iifname "{port.tap}" jump spoof-{number}')
        forward.append(f'oifname "{port.tap}" meta mark set meta mark | {number << 16:#x}')
        inet += _chain(f"eg-{number}", _egress_chain(port))
        inet += _chain(f"in-{number}", _ingress_chain(port))
        egress_jumps.append(f"meta mark & 0xffff == {number:#x} jump eg-{number}")
        ingress_jumps.append(f"meta mark & 0xffff0000 == {number << 16:#x} jump in-{number}")
    bridge += _chain(
        "prerouting", prerouting, "type filter hook prerouting priority -200; policy accept;"
    )
    bridge += _chain("forward", forward, "type filter hook forward priority -200; policy accept;")
    inet += _chain(
        "forward",
        [
            "meta mark & 0xffffffff == 0 accept",
            "ct state established,related accept",
            "ct state invalid drop",
            *egress_jumps,
            *ingress_jumps,
        ],
        "type filter hook forward priority 0; policy accept;",
    )
    return "\n".join([*text, *bridge, "}", *inet, "}"]) + "\n"


def apply(ports: Sequence[FilteredPort], netns: str | None = None) -> None:
    """Load :func:`ruleset` (in ``netns`` when given); HypervisorError with nft's
    message when it refuses."""
    command = [*(("ip", "netns", "exec", netns) if netns else ()), "nft", "-f", "-"]
    try:
        done = subprocess.run(
            command, input=ruleset(ports), capture_output=True, text=True, timeout=30, check=False
        )
    except FileNotFoundError:
        raise errors.HypervisorError(
            "nft is not installed (package nftables): security groups cannot be applied"
        ) from None
    if done.returncode != 0:
        raise errors.HypervisorError(f"nft refused the security-group rules: {done.stderr.strip()}")
