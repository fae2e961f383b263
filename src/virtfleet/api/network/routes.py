"""The Networking API's one route table (paths under ``/networking``), with
Neutron's policy rule names."""

from __future__ import annotations

from virtfleet.api.network.handlers import (
    networks,
    ports,
    quotas,
    security_groups,
    subnets,
    versions,
)
from virtfleet.api.wsgi import Route

V2 = "/v2.0"
NETWORK = f"{V2}/networks/{{network_id}}"
SUBNET = f"{V2}/subnets/{{subnet_id}}"
PORT = f"{V2}/ports/{{port_id}}"
GROUP = f"{V2}/security-groups/{{group_id}}"
RULE = f"{V2}/security-group-rules/{{rule_id}}"
QUOTA = f"{V2}/quotas/{{project_id}}"

ROUTES = (
    Route("GET", "/", versions.choices, "get_versions"),
    Route("GET", V2, versions.index, "get_versions"),
    Route("GET", f"{V2}/extensions", versions.extensions, "get_extensions"),
    Route("GET", f"{V2}/extensions/{{alias}}", versions.extension, "get_extension"),
    Route("GET", f"{QUOTA}/details", quotas.details, "get_quota"),
    Route("GET", f"{QUOTA}/default", quotas.default, "get_quota_default"),
    Route("GET", QUOTA, quotas.show, "get_quota"),
    Route("GET", f"{V2}/networks", networks.index, "get_network"),
    Route("POST", f"{V2}/networks", networks.create, "create_network"),
    Route("GET", NETWORK, networks.show, "get_network"),
    Route("PUT", NETWORK, networks.update, "update_network"),
    Route("DELETE", NETWORK, networks.delete, "delete_network"),
    Route("GET", f"{V2}/subnets", subnets.index, "get_subnet"),
    Route("POST", f"{V2}/subnets", subnets.create, "create_subnet"),
    Route("GET", SUBNET, subnets.show, "get_subnet"),
    Route("PUT", SUBNET, subnets.update, "update_subnet"),
    Route("DELETE", SUBNET, subnets.delete, "delete_subnet"),
    Route("GET", f"{V2}/ports", ports.index, "get_port"),
    Route("POST", f"{V2}/ports", ports.create, "create_port"),
    Route("GET", PORT, ports.show, "get_port"),
    Route("PUT", PORT, ports.update, "update_port"),
    Route("DELETE", PORT, ports.delete, "delete_port"),
    Route("GET", f"{V2}/security-groups", security_groups.index, "get_security_group"),
    Route("POST", f"{V2}/security-groups", security_groups.create, "create_security_group"),
    Route("GET", GROUP, security_groups.show, "get_security_group"),
    Route("PUT", GROUP, security_groups.update, "update_security_group"),
    Route("DELETE", GROUP, security_groups.delete, "delete_security_group"),
    Route(
        "GET", f"{V2}/security-group-rules", security_groups.rule_index, "get_security_group_rule"
    ),
    Route(
        "POST",
        f"{V2}/security-group-rules",
        security_groups.rule_create,
        "create_security_group_rule",
    ),
    Route("GET", RULE, security_groups.rule_show, "get_security_group_rule"),
    Route("DELETE", RULE, security_groups.rule_delete, "delete_security_group_rule"),
)
