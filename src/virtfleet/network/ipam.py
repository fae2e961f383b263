"""Address management of one subnet: its shape (CIDR, gateway, allocation pools) and
which address a port gets. Pure functions; the database's unique (subnet, address)
key is what makes a choice final (``network.ports`` retries on a lost race)."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from virtfleet.network import errors

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Pool:
    start: IPAddress
    end: IPAddress

    def as_dict(self) -> dict[str, str]:
        return {"start": str(self.start), "end": str(self.end)}

    def __contains__(self, address: object) -> bool:
        return isinstance(address, type(self.start)) and int(self.start) <= int(address) <= int(
            self.end
        )


def parse_cidr(cidr: Any, ip_version: int) -> IPNetwork:
    """The subnet's network; 400 for a malformed CIDR, one with host bits set, one of
    the other IP version, or one too small to hold an address."""
    if not isinstance(cidr, str):
        raise errors.InvalidInput(f"Invalid input for cidr: {cidr!r} is not a CIDR string.")
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise errors.InvalidInput(f"Invalid input for cidr: {cidr!r} is not a CIDR.") from None
    if str(network) != cidr and network.with_prefixlen != cidr:
        raise errors.InvalidInput(
            f"Invalid input for cidr: {cidr!r} has host bits set; {network} should be "
            "given instead."
        )
    if network.version != ip_version:
        raise errors.InvalidInput(
            f"Invalid input for cidr: {cidr} is an IPv{network.version} CIDR but "
            f"ip_version is {ip_version}."
        )
    if network.num_addresses < (4 if network.version == 4 else 2):
        raise errors.InvalidInput(f"Invalid input for cidr: {cidr} is too small for a subnet.")
    return network


def parse_address(text: Any, what: str) -> IPAddress:
    if not isinstance(text, str):
        raise errors.InvalidInput(f"Invalid input for {what}: {text!r} is not an IP address.")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise errors.InvalidInput(
            f"Invalid input for {what}: {text!r} is not an IP address."
        ) from None


def host_range(network: IPNetwork) -> tuple[IPAddress, IPAddress]:
    """First and last address a port may get (IPv4: not the network or broadcast
    address; IPv6: not the subnet-router anycast address)."""
    first = network.network_address + 1
    last = network.broadcast_address - (1 if network.version == 4 else 0)
    return first, last


#: IPv6 address modes in which a guest makes its own address from the prefix and its
#: MAC (modified EUI-64), so the port's address is that one, as in Neutron.
AUTOMATIC_V6_MODES = ("slaac", "dhcpv6-stateless")


def eui64(network: IPNetwork, mac: str) -> ipaddress.IPv6Address:
    """The address a guest with ``mac`` takes by SLAAC in the /64 ``network``."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    interface_id = int.from_bytes(bytes([*octets[:3], 0xFF, 0xFE, *octets[3:]]), "big")
    return ipaddress.IPv6Address(int(network.network_address) | interface_id)


def default_gateway(network: IPNetwork) -> IPAddress:
    return host_range(network)[0]


def check_gateway(network: IPNetwork, gateway: IPAddress) -> None:
    first, last = host_range(network)
    if not first <= gateway <= last:  # type: ignore[operator]  # same version, checked
        raise errors.InvalidInput(
            f"Invalid input for gateway_ip: {gateway} is not a usable address of {network}."
        )


def default_pools(network: IPNetwork, gateway: IPAddress | None) -> list[Pool]:
    """The host range, less the gateway."""
    first, last = host_range(network)
    if gateway is None or not first <= gateway <= last:  # type: ignore[operator]
        return [Pool(first, last)]
    pools = []
    if gateway > first:  # type: ignore[operator]
        pools.append(Pool(first, gateway - 1))
    if gateway < last:  # type: ignore[operator]
        pools.append(Pool(gateway + 1, last))
    return pools


def parse_pools(network: IPNetwork, given: Any, gateway: IPAddress | None) -> list[Pool]:
    """``allocation_pools`` checked: each inside the subnet's host range, start <= end,
    no two overlapping, the gateway in none."""
    if not isinstance(given, list) or not all(isinstance(p, dict) for p in given):
        raise errors.InvalidInput(
            "Invalid input for allocation_pools: expected a list of {start, end} objects."
        )
    pools = []
    first, last = host_range(network)
    for entry in given:
        start = parse_address(entry.get("start"), "allocation_pools start")
        end = parse_address(entry.get("end"), "allocation_pools end")
        if not (first <= start <= last and first <= end <= last):  # type: ignore[operator]
            raise errors.InvalidInput(
                f"The allocation pool {start}-{end} spans beyond the subnet cidr {network}."
            )
        if start > end:  # type: ignore[operator]
            raise errors.InvalidInput(f"The allocation pool {start}-{end} ends before it starts.")
        pools.append(Pool(start, end))
    ordered = sorted(pools, key=lambda p: int(p.start))
    for before, after in itertools.pairwise(ordered):
        if int(after.start) <= int(before.end):
            raise errors.InvalidInput(
                f"Found overlapping allocation pools: {before.start}-{before.end} and "
                f"{after.start}-{after.end}."
            )
    if gateway is not None and any(gateway in p for p in pools):
        raise errors.InvalidInput(
            f"Gateway ip {gateway} conflicts with allocation pool "
            + ", ".join(f"{p.start}-{p.end}" for p in pools if gateway in p)
            + "."
        )
    return ordered


def pools_from_rows(rows: Sequence[dict[str, str]]) -> list[Pool]:
    return [Pool(ipaddress.ip_address(r["start"]), ipaddress.ip_address(r["end"])) for r in rows]


def overlapping(network: IPNetwork, others: Sequence[str]) -> str | None:
    """The first of ``others`` (CIDRs of the same network) that overlaps ``network``."""
    for other in others:
        other_net = ipaddress.ip_network(other)
        if other_net.version == network.version and other_net.overlaps(network):
            return other
    return None


def candidates(pools: Sequence[Pool], used: Collection[str]) -> Iterator[IPAddress]:
    """Free addresses of ``pools`` in order, skipping ``used`` (text form)."""
    for pool in pools:
        address = pool.start
        while address <= pool.end:  # type: ignore[operator]
            if str(address) not in used:
                yield address
            address = address + 1
