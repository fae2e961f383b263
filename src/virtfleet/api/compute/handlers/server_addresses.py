"""A server's ``addresses`` as the Compute API shows them."""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.db.servers import Server


def addresses(deps: ComputeDeps, server: Server) -> dict[str, list[dict[str, Any]]]:
    """``addresses``: the fixed IPs of the server's ports, by network name."""
    return addresses_of(deps, [server.uuid])[server.uuid]


def addresses_of(
    deps: ComputeDeps, server_uuids: list[str]
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """:func:`addresses` of several servers, read at once."""
    shown: dict[str, dict[str, list[dict[str, Any]]]] = {uuid: {} for uuid in server_uuids}
    if deps.networks is None:
        return shown
    for uuid, found in deps.networks.addresses_of(server_uuids).items():
        by_network = shown.setdefault(uuid, {})
        for address in found:
            by_network.setdefault(address.network_name, []).append(
                {
                    "version": address.version,
                    "addr": address.address,
                    "OS-EXT-IPS:type": "fixed",
                    "OS-EXT-IPS-MAC:mac_addr": address.mac_address,
                }
            )
    return shown
