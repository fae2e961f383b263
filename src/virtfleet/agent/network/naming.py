"""Host device names of a guest's ports (at most 15 characters, Linux's limit)."""

from __future__ import annotations

from collections.abc import Mapping

from virtfleet import errors
from virtfleet.objects.vif import GuestVif

BRIDGE_PREFIX = "vfbr-"
TAP_PREFIX = "tap"


def tap_name(port_id: str) -> str:
    """The guest's host-side device: ``tap`` and the port id's first 11 characters."""
    return TAP_PREFIX + port_id[:11]


def bridge_name(vif: GuestVif, physical_networks: Mapping[str, str]) -> str:
    """The bridge ``vif`` joins: for a flat network, the device its physical network
    names in ``[network] physical_networks``; otherwise one bridge per network
    (``vfbr-`` and the network id's first 10 characters)."""
    if vif.network_type == "flat":
        device = physical_networks.get(vif.physical_network or "")
        if device is None:
            raise errors.ConfigError(
                f"port {vif.port_id} is on flat physical network {vif.physical_network!r}, "
                "which this host's [network] physical_networks does not map"
            )
        return device
    if vif.network_type == "vlan" and (vif.physical_network or "") not in physical_networks:
        raise errors.ConfigError(
            f"port {vif.port_id} is on vlan physical network {vif.physical_network!r}, "
            "which this host's [network] physical_networks does not map"
        )
    return BRIDGE_PREFIX + vif.network_id[:10]
