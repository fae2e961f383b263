"""What the Networking API advertises: its version, collections and extensions."""

from __future__ import annotations

VERSION = "v2.0"

# (member name, collection name, path under /v2.0)
RESOURCES: tuple[tuple[str, str, str], ...] = (
    ("network", "networks", "networks"),
    ("subnet", "subnets", "subnets"),
    ("port", "ports", "ports"),
    ("security_group", "security_groups", "security-groups"),
    ("security_group_rule", "security_group_rules", "security-group-rules"),
)

# (alias, name, description): only what is implemented.
EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("provider", "Provider Network", "provider:network_type/physical_network/segmentation_id"),
    ("binding", "Port Binding", "binding:host_id and the VIF type of ports"),
    ("port-security", "Port Security", "port_security_enabled on networks and ports"),
    ("security-group", "security-group", "Security groups and their rules"),
    ("external-net", "Neutron external network", "router:external (recorded only)"),
    ("standard-attr-description", "standard-attr-description", "description attributes"),
    ("net-mtu", "Network MTU", "mtu of networks"),
)
