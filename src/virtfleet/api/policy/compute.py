"""The Compute API's rules, with Nova's names (``os_compute_api:...``)."""

from __future__ import annotations

from oslo_policy import policy

from virtfleet.api.policy.personas import (
    ADMIN,
    ANYONE,
    PROJECT_MEMBER_OR_ADMIN,
    PROJECT_READER_OR_ADMIN,
    documented,
)

API = "os_compute_api"


def _rule(
    name: str, check: str, description: str, *operations: tuple[str, str]
) -> policy.RuleDefault:
    return documented(f"{API}:{name}", check, description, *operations)


S = "/servers/{server_id}"
M = f"{S}/migrations/{{migration_id}}"
H = "/os-hypervisors/{hypervisor_id}"
F = "/flavors/{flavor_id}"
X = f"{F}/os-extra_specs"
K = "/os-keypairs/{keypair_name}"
#: Nova's: the key pair's own user (its ``user_id`` in the target), or an admin.
KEYPAIR_OWNER = f"({ADMIN}) or user_id:%(user_id)s"
Q = "/os-quota-sets/{project_id}"
G = "/os-server-groups/{group_id}"
A = "/os-aggregates/{aggregate_id}"

RULES = [
    _rule("versions:index", ANYONE, "List API versions.", ("GET", "/")),
    _rule("versions:show", ANYONE, "Show the v2.1 version document.", ("GET", "/v2.1")),
    _rule("flavors:index", ANYONE, "List flavors.", ("GET", "/flavors")),
    _rule("flavors:detail", ANYONE, "List flavors with details.", ("GET", "/flavors/detail")),
    _rule("flavors:show", ANYONE, "Show a flavor.", ("GET", F)),
    _rule("os-flavor-manage:create", ADMIN, "Create a flavor.", ("POST", "/flavors")),
    _rule("os-flavor-manage:update", ADMIN, "Update a flavor's description.", ("PUT", F)),
    _rule("os-flavor-manage:delete", ADMIN, "Delete a flavor.", ("DELETE", F)),
    _rule("os-flavor-extra-specs:index", PROJECT_READER_OR_ADMIN, "List extra specs.", ("GET", X)),
    _rule(
        "os-flavor-extra-specs:show",
        PROJECT_READER_OR_ADMIN,
        "Show an extra spec.",
        ("GET", f"{X}/{{key}}"),
    ),
    _rule("os-flavor-extra-specs:create", ADMIN, "Set extra specs.", ("POST", X)),
    _rule("os-flavor-extra-specs:update", ADMIN, "Update an extra spec.", ("PUT", f"{X}/{{key}}")),
    _rule(
        "os-flavor-extra-specs:delete", ADMIN, "Delete an extra spec.", ("DELETE", f"{X}/{{key}}")
    ),
    _rule(
        "servers:index", PROJECT_READER_OR_ADMIN, "List the project's servers.", ("GET", "/servers")
    ),
    _rule(
        "servers:detail",
        PROJECT_READER_OR_ADMIN,
        "List the project's servers with details.",
        ("GET", "/servers/detail"),
    ),
    _rule(
        "servers:index:get_all_tenants",
        ADMIN,
        "List every project's servers (all_tenants).",
        ("GET", "/servers?all_tenants"),
    ),
    _rule(
        "servers:detail:get_all_tenants",
        ADMIN,
        "List every project's servers with details.",
        ("GET", "/servers/detail?all_tenants"),
    ),
    _rule("servers:show", PROJECT_READER_OR_ADMIN, "Show a server.", ("GET", S)),
    _rule(
        "servers:show:host_status",
        ADMIN,
        "See the host of a server (OS-EXT-SRV-ATTR:host).",
        ("GET", S),
    ),
    _rule("servers:create", PROJECT_MEMBER_OR_ADMIN, "Create a server.", ("POST", "/servers")),
    _rule("servers:delete", PROJECT_MEMBER_OR_ADMIN, "Delete a server.", ("DELETE", S)),
    _rule("servers:update", PROJECT_MEMBER_OR_ADMIN, "Rename or describe a server.", ("PUT", S)),
    *[
        _rule(name, check, what, (method, path))
        for name, check, what, method, path in (
            (
                "server-metadata:index",
                PROJECT_READER_OR_ADMIN,
                "List a server's metadata.",
                "GET",
                f"{S}/metadata",
            ),
            (
                "server-metadata:show",
                PROJECT_READER_OR_ADMIN,
                "Show a metadata item.",
                "GET",
                f"{S}/metadata/{{key}}",
            ),
            (
                "server-metadata:create",
                PROJECT_MEMBER_OR_ADMIN,
                "Add metadata items.",
                "POST",
                f"{S}/metadata",
            ),
            (
                "server-metadata:update_all",
                PROJECT_MEMBER_OR_ADMIN,
                "Replace the metadata.",
                "PUT",
                f"{S}/metadata",
            ),
            (
                "server-metadata:update",
                PROJECT_MEMBER_OR_ADMIN,
                "Set a metadata item.",
                "PUT",
                f"{S}/metadata/{{key}}",
            ),
            (
                "server-metadata:delete",
                PROJECT_MEMBER_OR_ADMIN,
                "Delete a metadata item.",
                "DELETE",
                f"{S}/metadata/{{key}}",
            ),
            (
                "os-server-tags:index",
                PROJECT_READER_OR_ADMIN,
                "List a server's tags.",
                "GET",
                f"{S}/tags",
            ),
            (
                "os-server-tags:show",
                PROJECT_READER_OR_ADMIN,
                "Check a server's tag.",
                "GET",
                f"{S}/tags/{{tag}}",
            ),
            (
                "os-server-tags:update_all",
                PROJECT_MEMBER_OR_ADMIN,
                "Replace the tags.",
                "PUT",
                f"{S}/tags",
            ),
            (
                "os-server-tags:update",
                PROJECT_MEMBER_OR_ADMIN,
                "Add a tag.",
                "PUT",
                f"{S}/tags/{{tag}}",
            ),
            (
                "os-server-tags:delete_all",
                PROJECT_MEMBER_OR_ADMIN,
                "Remove every tag.",
                "DELETE",
                f"{S}/tags",
            ),
            (
                "os-server-tags:delete",
                PROJECT_MEMBER_OR_ADMIN,
                "Remove a tag.",
                "DELETE",
                f"{S}/tags/{{tag}}",
            ),
        )
    ],
    _rule(
        "servers:action",
        PROJECT_MEMBER_OR_ADMIN,
        "Run a server action (each action has its own rule too).",
        ("POST", f"{S}/action"),
    ),
    _rule(
        "servers:stop", PROJECT_MEMBER_OR_ADMIN, "Stop a server.", ("POST", f"{S}/action (os-stop)")
    ),
    _rule(
        "servers:start",
        PROJECT_MEMBER_OR_ADMIN,
        "Start a server.",
        ("POST", f"{S}/action (os-start)"),
    ),
    _rule(
        "servers:reboot",
        PROJECT_MEMBER_OR_ADMIN,
        "Reboot a server.",
        ("POST", f"{S}/action (reboot)"),
    ),
    _rule(
        "os-console-output",
        PROJECT_MEMBER_OR_ADMIN,
        "Read a server's console log.",
        ("POST", f"{S}/action (os-getConsoleOutput)"),
    ),
    *[
        _rule(
            f"{name}", PROJECT_MEMBER_OR_ADMIN, f"{what} a server.", ("POST", f"{S}/action ({a})")
        )
        for name, what, a in (
            ("os-pause-server:pause", "Pause", "pause"),
            ("os-pause-server:unpause", "Unpause", "unpause"),
            ("os-suspend-server:suspend", "Suspend", "suspend"),
            ("os-suspend-server:resume", "Resume", "resume"),
            ("os-lock-server:lock", "Lock", "lock"),
            ("os-lock-server:unlock", "Unlock", "unlock"),
            ("servers:create_image", "Snapshot", "createImage"),
        )
    ],
    _rule(
        "os-shelve:shelve",
        PROJECT_MEMBER_OR_ADMIN,
        "Shelve a server (stop it and keep its disk as an image).",
        ("POST", f"{S}/action (shelve)"),
    ),
    _rule(
        "os-shelve:shelve_offload",
        ADMIN,
        "Offload a shelved server from its host.",
        ("POST", f"{S}/action (shelveOffload)"),
    ),
    _rule(
        "os-shelve:unshelve",
        PROJECT_MEMBER_OR_ADMIN,
        "Unshelve a server.",
        ("POST", f"{S}/action (unshelve)"),
    ),
    _rule(
        "os-shelve:unshelve_to_host",
        ADMIN,
        "Unshelve an offloaded server onto a named host (2.91).",
        ("POST", f"{S}/action (unshelve)"),
    ),
    _rule(
        "os-rescue",
        PROJECT_MEMBER_OR_ADMIN,
        "Rescue a server (boot it from a rescue image, its own disk second).",
        ("POST", f"{S}/action (rescue)"),
    ),
    _rule(
        "os-unrescue",
        PROJECT_MEMBER_OR_ADMIN,
        "Unrescue a server (boot it from its own disk again).",
        ("POST", f"{S}/action (unrescue)"),
    ),
    _rule(
        "os-lock-server:unlock:unlock_override",
        ADMIN,
        "Unlock a server an administrator locked.",
        ("POST", f"{S}/action (unlock)"),
    ),
    _rule(
        "os-remote-consoles",
        PROJECT_MEMBER_OR_ADMIN,
        "Get a console URL (serial websocket or noVNC) of a server.",
        ("POST", f"{S}/remote-consoles"),
        ("POST", f"{S}/action (os-getVNCConsole)"),
        ("POST", f"{S}/action (os-getSerialConsole)"),
    ),
    _rule(
        "os-admin-password",
        PROJECT_MEMBER_OR_ADMIN,
        "Set the root password of a server (through its QEMU guest agent).",
        ("POST", f"{S}/action (changePassword)"),
    ),
    _rule(
        "os-console-auth-tokens",
        ADMIN,
        "Show what a console token opens (instance, relay host and port).",
        ("GET", "/os-console-auth-tokens/{console_token}"),
    ),
    _rule(
        "os-migrate-server:migrate_live",
        ADMIN,
        "Live-migrate a server.",
        ("POST", f"{S}/action (os-migrateLive)"),
    ),
    _rule(
        "os-migrate-server:migrate",
        ADMIN,
        "Cold-migrate a server (to a host of the scheduler's choice, or the one given).",
        ("POST", f"{S}/action (migrate)"),
    ),
    _rule(
        "servers:resize",
        PROJECT_MEMBER_OR_ADMIN,
        "Resize a server to another flavor.",
        ("POST", f"{S}/action (resize)"),
    ),
    _rule(
        "servers:confirm_resize",
        PROJECT_MEMBER_OR_ADMIN,
        "Confirm a server's cold migration or resize.",
        ("POST", f"{S}/action (confirmResize)"),
    ),
    _rule(
        "servers:revert_resize",
        PROJECT_MEMBER_OR_ADMIN,
        "Revert a server's cold migration or resize.",
        ("POST", f"{S}/action (revertResize)"),
    ),
    _rule(
        "os-evacuate",
        ADMIN,
        "Evacuate a server from a host that is down (rebuilt from its image elsewhere).",
        ("POST", f"{S}/action (evacuate)"),
    ),
    _rule(
        "servers:rebuild",
        PROJECT_MEMBER_OR_ADMIN,
        "Rebuild a server from a new image on its host.",
        ("POST", f"{S}/action (rebuild)"),
    ),
    _rule(
        "servers:migrations:index", ADMIN, "List a server's migrations.", ("GET", f"{S}/migrations")
    ),
    _rule("servers:migrations:show", ADMIN, "Show a server's migration.", ("GET", M)),
    _rule("servers:migrations:delete", ADMIN, "Abort a live migration.", ("DELETE", M)),
    _rule(
        "servers:migrations:force_complete",
        ADMIN,
        "Force a live migration to complete.",
        ("POST", f"{M}/action"),
    ),
    _rule("os-migrations:index", ADMIN, "List migrations.", ("GET", "/os-migrations")),
    _rule(
        "os-instance-actions:list",
        PROJECT_READER_OR_ADMIN,
        "List a server's actions.",
        ("GET", f"{S}/os-instance-actions"),
    ),
    _rule(
        "os-instance-actions:show",
        PROJECT_READER_OR_ADMIN,
        "Show a server's action.",
        ("GET", f"{S}/os-instance-actions/{{request_id}}"),
    ),
    _rule(
        "os-instance-actions:events",
        ADMIN,
        "See an action's events before microversion 2.51.",
        ("GET", f"{S}/os-instance-actions/{{request_id}}"),
    ),
    _rule(
        "os-instance-actions:events:details",
        ADMIN,
        "See the traceback of an action's events.",
        ("GET", f"{S}/os-instance-actions/{{request_id}}"),
    ),
    _rule(
        "os-domain-xml", ADMIN, "Read a server's libvirt domain XML.", ("GET", f"{S}/os-domain-xml")
    ),
    _rule("os-hypervisors:list", ADMIN, "List hypervisors.", ("GET", "/os-hypervisors")),
    _rule(
        "os-hypervisors:list-detail",
        ADMIN,
        "List hypervisors with details.",
        ("GET", "/os-hypervisors/detail"),
    ),
    _rule("os-hypervisors:show", ADMIN, "Show a hypervisor.", ("GET", H)),
    _rule("os-hypervisors:uptime", ADMIN, "Show a hypervisor's uptime.", ("GET", f"{H}/uptime")),
    _rule(
        "os-hypervisors:servers",
        ADMIN,
        "List the servers of hypervisors (before 2.53).",
        ("GET", f"{H}/servers"),
    ),
    _rule("os-services:list", ADMIN, "List compute services.", ("GET", "/os-services")),
    _rule(
        "os-services:update",
        ADMIN,
        "Enable, disable or force down a compute service.",
        ("PUT", "/os-services/{service_id}"),
    ),
    _rule("limits", ANYONE, "Show the project's limits.", ("GET", "/limits")),
    _rule(
        "limits:other_project",
        ADMIN,
        "Show another project's limits (tenant_id).",
        ("GET", "/limits?tenant_id"),
    ),
    _rule(
        "os-quota-sets:show",
        PROJECT_READER_OR_ADMIN,
        "Show a project's quotas (Keystone unified limits).",
        ("GET", Q),
    ),
    _rule(
        "os-quota-sets:detail",
        PROJECT_READER_OR_ADMIN,
        "Show a project's quotas with usage.",
        ("GET", f"{Q}/detail"),
    ),
    _rule("os-quota-sets:defaults", ANYONE, "Show the default quotas.", ("GET", f"{Q}/defaults")),
    _rule("os-quota-sets:update", ADMIN, "Update quotas (refused: Keystone's).", ("PUT", Q)),
    _rule("os-quota-sets:delete", ADMIN, "Delete quotas (refused: Keystone's).", ("DELETE", Q)),
    _rule(
        "os-availability-zone:list",
        ANYONE,
        "List availability zones.",
        ("GET", "/os-availability-zone"),
    ),
    _rule(
        "os-availability-zone:detail",
        ADMIN,
        "List availability zones with their hosts.",
        ("GET", "/os-availability-zone/detail"),
    ),
    _rule("os-keypairs:index", KEYPAIR_OWNER, "List a user's key pairs.", ("GET", "/os-keypairs")),
    _rule(
        "os-keypairs:create",
        KEYPAIR_OWNER,
        "Create or import a key pair.",
        ("POST", "/os-keypairs"),
    ),
    _rule("os-keypairs:show", KEYPAIR_OWNER, "Show a key pair.", ("GET", K)),
    _rule("os-keypairs:delete", KEYPAIR_OWNER, "Delete a key pair.", ("DELETE", K)),
    _rule("extensions", ANYONE, "List API extensions.", ("GET", "/extensions")),
    _rule("os-aggregates:index", ADMIN, "List host aggregates.", ("GET", "/os-aggregates")),
    _rule("os-aggregates:create", ADMIN, "Create a host aggregate.", ("POST", "/os-aggregates")),
    _rule("os-aggregates:show", ADMIN, "Show a host aggregate.", ("GET", A)),
    _rule("os-aggregates:update", ADMIN, "Rename an aggregate or change its zone.", ("PUT", A)),
    _rule("os-aggregates:delete", ADMIN, "Delete a host aggregate.", ("DELETE", A)),
    _rule(
        "os-aggregates:action",
        ADMIN,
        "Add or remove a host, or set metadata, of an aggregate.",
        ("POST", f"{A}/action (add_host, remove_host, set_metadata)"),
    ),
    _rule(
        "os-server-groups:index",
        PROJECT_READER_OR_ADMIN,
        "List the project's server groups.",
        ("GET", "/os-server-groups"),
    ),
    _rule(
        "os-server-groups:index:all_projects",
        ADMIN,
        "List every project's server groups.",
        ("GET", "/os-server-groups?all_projects=True"),
    ),
    _rule(
        "os-server-groups:create",
        PROJECT_MEMBER_OR_ADMIN,
        "Create a server group.",
        ("POST", "/os-server-groups"),
    ),
    _rule("os-server-groups:show", PROJECT_READER_OR_ADMIN, "Show a server group.", ("GET", G)),
    _rule(
        "os-server-groups:delete", PROJECT_MEMBER_OR_ADMIN, "Delete a server group.", ("DELETE", G)
    ),
    documented(
        "compute:server:topology:index",
        PROJECT_READER_OR_ADMIN,
        "Show a server's NUMA topology (2.78; refused: not offered).",
        ("GET", "/servers/{server_id}/topology"),
    ),
    _rule(
        "os-aggregates:images",
        ADMIN,
        "Pre-cache images on an aggregate's hosts (2.81; refused: not offered).",
        ("POST", "/os-aggregates/{aggregate_id}/images"),
    ),
    _rule(
        "os-scheduler-explain",
        ADMIN,
        "Explain where a boot would go (virtfleet).",
        ("POST", "/os-scheduler-explain"),
    ),
]
