"""Which host networking an agent uses: recorded on simulated hosts, plumbed with
``ip`` on real ones (unless ``[network] plug`` is off), from ``[network]``."""

from __future__ import annotations

import ipaddress

from oslo_config import cfg

from virtfleet import errors
from virtfleet.agent.network.linux import LinuxBridgeNetwork
from virtfleet.agent.network.plugging import HostNetwork, RecordingHostNetwork
from virtfleet.network.physnets import parse_physical_networks


def host_network(conf: cfg.ConfigOpts, simulated: bool) -> HostNetwork:
    """The agent's host networking; ConfigError for a bad ``[network]`` section."""
    physnets = parse_physical_networks(conf.network.physical_networks)
    tunnel = conf.network.tunnel_address
    if tunnel is not None:
        try:
            ipaddress.ip_address(tunnel)
        except ValueError:
            raise errors.ConfigError(
                f"[network] tunnel_address: {tunnel!r} is not an IP address"
            ) from None
    if simulated or not conf.network.plug:
        return RecordingHostNetwork(physnets)
    return LinuxBridgeNetwork(physnets, tunnel_address=tunnel)
