"""[network]: physical networks, project network segments, and this host's tunnel
endpoint."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "network"

OPTS: list[cfg.Opt] = [
    cfg.ListOpt(
        "physical_networks",
        default=[],
        help="Physical networks provider networks may use, as NAME:BRIDGE_OR_INTERFACE "
        "pairs (e.g. datacentre:br-ex,physnet2:eth1). On the control plane the names "
        "are what `--provider-physical-network` accepts; on a host the right-hand side "
        "is the Linux bridge (used as is) or interface (enslaved to a bridge) a flat "
        "network uses, and the parent of a vlan network's sub-interface.",
    ),
    cfg.StrOpt(
        "project_network_type",
        default="vxlan",
        choices=["vxlan"],
        help="Segment type of networks created without provider attributes.",
    ),
    cfg.StrOpt(
        "tunnel_address",
        default=None,
        help="This host's address for VXLAN tunnels of project networks (an address "
        "configured on one of its interfaces). Unset: project networks stay local to "
        "the host (enough for `virtfleet up` on one machine).",
    ),
    cfg.BoolOpt(
        "plug",
        default=True,
        help="Whether a libvirt host's agent creates bridges, VXLAN/VLAN devices, "
        "dnsmasq and nftables rules for its guests' ports (simulated hosts only record "
        "them).",
    ),
    cfg.BoolOpt(
        "security_groups",
        default=True,
        help="Whether a plugging host filters its guests' ports with nftables "
        "(security groups, anti-spoofing). Off: ports are not filtered.",
    ),
    cfg.BoolOpt(
        "dhcp",
        default=True,
        help="Whether a plugging host runs a dnsmasq per network for its guests.",
    ),
    cfg.StrOpt(
        "state_directory",
        default="/var/lib/virtfleet/network",
        help="Where a plugging host keeps each network's dnsmasq files.",
    ),
    cfg.StrOpt(
        "host_netns",
        default=None,
        help="Network namespace this host's networking lives in (the tests' "
        "namespaced libvirt hosts, whose libvirtd runs in it). Unset: the agent's own.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
