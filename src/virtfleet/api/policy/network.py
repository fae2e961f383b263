"""The Networking API's rules, with Neutron's names. Which networks, subnets, ports and
security groups a project sees (its own, shared ones) is the Networking API's own
business, as in Neutron; these rules say who may call an operation at all."""

from __future__ import annotations

from oslo_policy import policy

from virtfleet.api.policy.personas import (
    ANYONE,
    PROJECT_MEMBER_OR_ADMIN,
    PROJECT_READER_OR_ADMIN,
    documented,
)

V2 = "/v2.0"
RESOURCES = {
    "network": f"{V2}/networks",
    "subnet": f"{V2}/subnets",
    "port": f"{V2}/ports",
    "security_group": f"{V2}/security-groups",
    "security_group_rule": f"{V2}/security-group-rules",
}


def _rule(name: str, check: str, description: str, method: str, path: str) -> policy.RuleDefault:
    return documented(name, check, description, (method, path))


RULES = [
    _rule("get_extensions", ANYONE, "List API extensions.", "GET", f"{V2}/extensions"),
    _rule("get_extension", ANYONE, "Show an API extension.", "GET", f"{V2}/extensions/{{alias}}"),
    _rule(
        "get_quota",
        PROJECT_READER_OR_ADMIN,
        "Show a project's quotas (unlimited) and usage.",
        "GET",
        f"{V2}/quotas/{{project_id}}",
    ),
    _rule(
        "get_quota_default",
        ANYONE,
        "Show the default quotas (unlimited).",
        "GET",
        f"{V2}/quotas/{{project_id}}/default",
    ),
    *(
        rule
        for kind, path in RESOURCES.items()
        for rule in (
            _rule(f"get_{kind}", PROJECT_READER_OR_ADMIN, f"List or show {kind}s.", "GET", path),
            _rule(f"create_{kind}", PROJECT_MEMBER_OR_ADMIN, f"Create a {kind}.", "POST", path),
            _rule(f"update_{kind}", PROJECT_MEMBER_OR_ADMIN, f"Update a {kind}.", "PUT", path),
            _rule(f"delete_{kind}", PROJECT_MEMBER_OR_ADMIN, f"Delete a {kind}.", "DELETE", path),
        )
    ),
]
