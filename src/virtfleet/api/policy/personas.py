"""The base rules: who is an admin, a service, a reader or member of a project.

Keystone's bootstrap makes ``admin`` imply ``member`` and ``member`` imply ``reader``,
so a project admin's token carries all three. Targets carry ``project_id`` (the project
that owns what is acted on, or the caller's own for collections).
"""

from __future__ import annotations

from oslo_policy import policy

ADMIN = "rule:context_is_admin"
SERVICE = "rule:service_api"
ADMIN_OR_SERVICE = "rule:admin_or_service"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
ANYONE = "@"


def documented(
    name: str, check: str, description: str, *operations: tuple[str, str]
) -> policy.RuleDefault:
    """A project-scoped rule named ``name`` guarding ``operations`` ((method, path) pairs),
    as the policy generators list it."""
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=description,
        operations=[{"method": method, "path": path} for method, path in operations],
        scope_types=["project"],
    )


RULES = [
    policy.RuleDefault("context_is_admin", "role:admin", "An administrator of the cloud."),
    policy.RuleDefault("service_api", "role:service", "Another service (a service user's token)."),
    policy.RuleDefault("admin_or_service", f"{ADMIN} or {SERVICE}", "An admin or a service."),
    policy.RuleDefault(
        "project_reader_api",
        "role:reader and project_id:%(project_id)s",
        "A reader (or member, or admin) of the project that owns the target.",
    ),
    policy.RuleDefault(
        "project_member_api",
        "role:member and project_id:%(project_id)s",
        "A member (or admin) of the project that owns the target.",
    ),
    policy.RuleDefault(
        "project_reader_or_admin",
        f"rule:project_reader_api or {ADMIN}",
        "A reader of the owning project, or an admin.",
    ),
    policy.RuleDefault(
        "project_member_or_admin",
        f"rule:project_member_api or {ADMIN}",
        "A member of the owning project, or an admin.",
    ),
    policy.RuleDefault("virtfleet:root", ANYONE, "The root document: which APIs are here."),
    policy.RuleDefault("identity:versions:index", ANYONE, "Identity versions (test mode)."),
    policy.RuleDefault("identity:versions:show", ANYONE, "Identity v3 version (test mode)."),
    policy.RuleDefault("volume:versions:index", ANYONE, "Block Storage versions (test mode)."),
    policy.RuleDefault("volume:versions:show", ANYONE, "Block Storage v3 version (test mode)."),
    policy.RuleDefault(
        "volume:availability_zones:index",
        ANYONE,
        "Block Storage availability zones: none, there are no volumes (test mode).",
    ),
]
