"""Which host networking an agent uses: recorded on simulated hosts, plumbed with
``ip``, nftables and dnsmasq on real ones (unless ``[network] plug`` is off), from
``[network]`` and ``[metadata]``."""

from __future__ import annotations

import ipaddress
import pathlib

from oslo_config import cfg

from virtfleet import errors
from virtfleet.agent.network.dhcp import NAMESPACE_PREFIX, DhcpServers
from virtfleet.agent.network.linux import LinuxBridgeNetwork
from virtfleet.agent.network.metadata_proxy import MetadataProxies
from virtfleet.agent.network.plugging import HostNetwork, RecordingHostNetwork
from virtfleet.network.physnets import parse_physical_networks


def host_network(conf: cfg.ConfigOpts, simulated: bool, host: str = "") -> HostNetwork:
    """The agent's host networking (``host``: its name, marking the devices it
    makes); ConfigError for a bad ``[network]`` section."""
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
    netns = conf.network.host_netns
    network = LinuxBridgeNetwork(
        physnets,
        tunnel_address=tunnel,
        netns=netns,
        filtering=conf.network.security_groups,
        owner=host,
    )
    if conf.network.dhcp:
        prefix = f"{netns}-dhcp-" if netns else NAMESPACE_PREFIX
        network.dhcp = DhcpServers(pathlib.Path(conf.network.state_directory), netns, prefix)
    if conf.metadata.service_url and conf.network.dhcp:
        network.metadata = MetadataProxies(
            conf.metadata.service_url, conf.metadata.shared_secret, network.identity
        )
    return network
