"""The Compute API's one route table (paths under ``/compute``) and its one server
action table (the body keys of ``POST /servers/{id}/action``).

Every row names its handler and the policy rule that guards it, with Nova's rule
names (``os_compute_api:<resource>:<action>``). The action route's rule is refined
per action: the dispatcher records the action's own rule.
"""

from __future__ import annotations

from virtfleet.api.compute.handlers import (
    aggregates,
    availability_zones,
    consoles,
    domain_xml,
    explain,
    extensions,
    extra_specs,
    flavors,
    hypervisors,
    instance_actions,
    keypairs,
    limits,
    migrations,
    quota_sets,
    refused,
    server_actions,
    server_details,
    server_evacuate,
    server_groups,
    server_images,
    server_migrations,
    server_rebuild,
    server_rescue,
    server_resize,
    server_shelve,
    server_state_actions,
    servers,
    services,
    versions,
)
from virtfleet.api.compute.handlers.server_actions import ServerAction
from virtfleet.api.wsgi import Route

V = "/v2.1"
FLAVOR = f"{V}/flavors/{{flavor_id}}"
SPECS = f"{FLAVOR}/os-extra_specs"
SERVER = f"{V}/servers/{{server_id}}"
META = f"{SERVER}/metadata"
TAGS = f"{SERVER}/tags"
SERVER_MIGRATION = f"{SERVER}/migrations/{{migration_id}}"
HYPERVISOR = f"{V}/os-hypervisors/{{hypervisor_id}}"
KEYPAIR = f"{V}/os-keypairs/{{keypair_name}}"
QUOTA_SET = f"{V}/os-quota-sets/{{project_id}}"
GROUP = f"{V}/os-server-groups/{{group_id}}"
AGGREGATE = f"{V}/os-aggregates/{{aggregate_id}}"
API = "os_compute_api"

SERVER_ACTIONS = (
    ServerAction("os-stop", server_actions.stop, f"{API}:servers:stop"),
    ServerAction("os-start", server_actions.start, f"{API}:servers:start"),
    ServerAction("reboot", server_actions.reboot, f"{API}:servers:reboot"),
    ServerAction("os-getConsoleOutput", server_actions.console_output, f"{API}:os-console-output"),
    ServerAction("os-getVNCConsole", consoles.vnc_action, f"{API}:os-remote-consoles"),
    ServerAction("os-getSerialConsole", consoles.serial_action, f"{API}:os-remote-consoles"),
    ServerAction("changePassword", consoles.change_password, f"{API}:os-admin-password"),
    ServerAction(
        "os-migrateLive", server_migrations.migrate_live, f"{API}:os-migrate-server:migrate_live"
    ),
    ServerAction("pause", server_state_actions.pause, f"{API}:os-pause-server:pause"),
    ServerAction("unpause", server_state_actions.unpause, f"{API}:os-pause-server:unpause"),
    ServerAction("suspend", server_state_actions.suspend, f"{API}:os-suspend-server:suspend"),
    ServerAction("resume", server_state_actions.resume, f"{API}:os-suspend-server:resume"),
    ServerAction("lock", server_state_actions.lock, f"{API}:os-lock-server:lock"),
    ServerAction("unlock", server_state_actions.unlock, f"{API}:os-lock-server:unlock"),
    ServerAction("createImage", server_images.create_image, f"{API}:servers:create_image"),
    ServerAction("shelve", server_shelve.shelve, f"{API}:os-shelve:shelve"),
    ServerAction("shelveOffload", server_shelve.shelve_offload, f"{API}:os-shelve:shelve_offload"),
    ServerAction("unshelve", server_shelve.unshelve, f"{API}:os-shelve:unshelve"),
    ServerAction("migrate", server_resize.migrate, f"{API}:os-migrate-server:migrate"),
    ServerAction("resize", server_resize.resize, f"{API}:servers:resize"),
    ServerAction("confirmResize", server_resize.confirm_resize, f"{API}:servers:confirm_resize"),
    ServerAction("revertResize", server_resize.revert_resize, f"{API}:servers:revert_resize"),
    ServerAction("evacuate", server_evacuate.evacuate, f"{API}:os-evacuate"),
    ServerAction("rebuild", server_rebuild.rebuild, f"{API}:servers:rebuild"),
    ServerAction("rescue", server_rescue.rescue, f"{API}:os-rescue"),
    ServerAction("unrescue", server_rescue.unrescue, f"{API}:os-unrescue"),
)

ROUTES = (
    Route("GET", "/", versions.index, f"{API}:versions:index"),
    Route("GET", V, versions.show, f"{API}:versions:show"),
    Route("GET", f"{V}/flavors", flavors.index, f"{API}:flavors:index"),
    Route("POST", f"{V}/flavors", flavors.create, f"{API}:os-flavor-manage:create"),
    Route("GET", f"{V}/flavors/detail", flavors.detail, f"{API}:flavors:detail"),
    Route("GET", FLAVOR, flavors.show, f"{API}:flavors:show"),
    Route("PUT", FLAVOR, flavors.update, f"{API}:os-flavor-manage:update"),
    Route("DELETE", FLAVOR, flavors.delete, f"{API}:os-flavor-manage:delete"),
    Route("GET", SPECS, extra_specs.index, f"{API}:os-flavor-extra-specs:index"),
    Route("POST", SPECS, extra_specs.create, f"{API}:os-flavor-extra-specs:create"),
    Route("GET", f"{SPECS}/{{key}}", extra_specs.show, f"{API}:os-flavor-extra-specs:show"),
    Route("PUT", f"{SPECS}/{{key}}", extra_specs.update, f"{API}:os-flavor-extra-specs:update"),
    Route("DELETE", f"{SPECS}/{{key}}", extra_specs.delete, f"{API}:os-flavor-extra-specs:delete"),
    Route("GET", f"{V}/servers", servers.index, f"{API}:servers:index"),
    Route("POST", f"{V}/servers", servers.create, f"{API}:servers:create"),
    Route("GET", f"{V}/servers/detail", servers.detail, f"{API}:servers:detail"),
    Route("GET", SERVER, servers.show, f"{API}:servers:show"),
    Route("PUT", SERVER, server_details.update, f"{API}:servers:update"),
    Route("DELETE", SERVER, servers.delete, f"{API}:servers:delete"),
    Route("GET", META, server_details.metadata_index, f"{API}:server-metadata:index"),
    Route("POST", META, server_details.metadata_merge, f"{API}:server-metadata:create"),
    Route("PUT", META, server_details.metadata_replace, f"{API}:server-metadata:update_all"),
    Route("GET", f"{META}/{{key}}", server_details.metadata_show, f"{API}:server-metadata:show"),
    Route("PUT", f"{META}/{{key}}", server_details.metadata_set, f"{API}:server-metadata:update"),
    Route(
        "DELETE", f"{META}/{{key}}", server_details.metadata_delete, f"{API}:server-metadata:delete"
    ),
    Route("GET", TAGS, server_details.tags_index, f"{API}:os-server-tags:index"),
    Route("PUT", TAGS, server_details.tags_replace, f"{API}:os-server-tags:update_all"),
    Route("DELETE", TAGS, server_details.tags_clear, f"{API}:os-server-tags:delete_all"),
    Route("GET", f"{TAGS}/{{tag}}", server_details.tag_check, f"{API}:os-server-tags:show"),
    Route("PUT", f"{TAGS}/{{tag}}", server_details.tag_add, f"{API}:os-server-tags:update"),
    Route("DELETE", f"{TAGS}/{{tag}}", server_details.tag_delete, f"{API}:os-server-tags:delete"),
    Route(
        "POST",
        f"{SERVER}/action",
        server_actions.dispatcher(SERVER_ACTIONS),
        f"{API}:servers:action",
    ),
    Route(
        "GET", f"{SERVER}/migrations", server_migrations.index, f"{API}:servers:migrations:index"
    ),
    Route("GET", SERVER_MIGRATION, server_migrations.show, f"{API}:servers:migrations:show"),
    Route("DELETE", SERVER_MIGRATION, server_migrations.abort, f"{API}:servers:migrations:delete"),
    Route(
        "POST",
        f"{SERVER_MIGRATION}/action",
        server_migrations.action,
        f"{API}:servers:migrations:force_complete",
    ),
    Route("GET", f"{V}/os-migrations", migrations.index, f"{API}:os-migrations:index"),
    Route("POST", f"{SERVER}/remote-consoles", consoles.create, f"{API}:os-remote-consoles"),
    Route(
        "GET",
        f"{V}/os-console-auth-tokens/{{console_token}}",
        consoles.show_token,
        f"{API}:os-console-auth-tokens",
    ),
    Route(
        "GET",
        f"{SERVER}/os-instance-actions",
        instance_actions.index,
        f"{API}:os-instance-actions:list",
    ),
    Route(
        "GET",
        f"{SERVER}/os-instance-actions/{{request_id}}",
        instance_actions.show,
        f"{API}:os-instance-actions:show",
    ),
    Route("GET", f"{SERVER}/os-domain-xml", domain_xml.show, f"{API}:os-domain-xml"),
    Route("GET", f"{V}/os-hypervisors", hypervisors.index, f"{API}:os-hypervisors:list"),
    Route(
        "GET", f"{V}/os-hypervisors/detail", hypervisors.detail, f"{API}:os-hypervisors:list-detail"
    ),
    Route("GET", HYPERVISOR, hypervisors.show, f"{API}:os-hypervisors:show"),
    Route("GET", f"{HYPERVISOR}/uptime", hypervisors.uptime, f"{API}:os-hypervisors:uptime"),
    Route("GET", f"{HYPERVISOR}/servers", hypervisors.servers_of, f"{API}:os-hypervisors:servers"),
    Route("GET", f"{V}/os-services", services.index, f"{API}:os-services:list"),
    Route("PUT", f"{V}/os-services/{{service_id}}", services.update, f"{API}:os-services:update"),
    Route("GET", f"{V}/limits", limits.index, f"{API}:limits"),
    Route("GET", f"{QUOTA_SET}/detail", quota_sets.detail, f"{API}:os-quota-sets:detail"),
    Route("GET", f"{QUOTA_SET}/defaults", quota_sets.defaults, f"{API}:os-quota-sets:defaults"),
    Route("GET", QUOTA_SET, quota_sets.show, f"{API}:os-quota-sets:show"),
    Route("PUT", QUOTA_SET, quota_sets.update, f"{API}:os-quota-sets:update"),
    Route("DELETE", QUOTA_SET, quota_sets.delete, f"{API}:os-quota-sets:delete"),
    Route(
        "GET",
        f"{V}/os-availability-zone",
        availability_zones.index,
        f"{API}:os-availability-zone:list",
    ),
    Route(
        "GET",
        f"{V}/os-availability-zone/detail",
        availability_zones.detail,
        f"{API}:os-availability-zone:detail",
    ),
    Route("GET", f"{V}/os-keypairs", keypairs.index, f"{API}:os-keypairs:index"),
    Route("POST", f"{V}/os-keypairs", keypairs.create, f"{API}:os-keypairs:create"),
    Route("GET", KEYPAIR, keypairs.show, f"{API}:os-keypairs:show"),
    Route("DELETE", KEYPAIR, keypairs.delete, f"{API}:os-keypairs:delete"),
    Route("GET", f"{V}/extensions", extensions.index, f"{API}:extensions"),
    Route("GET", f"{V}/os-aggregates", aggregates.index, f"{API}:os-aggregates:index"),
    Route("POST", f"{V}/os-aggregates", aggregates.create, f"{API}:os-aggregates:create"),
    Route("GET", AGGREGATE, aggregates.show, f"{API}:os-aggregates:show"),
    Route("PUT", AGGREGATE, aggregates.update, f"{API}:os-aggregates:update"),
    Route("DELETE", AGGREGATE, aggregates.delete, f"{API}:os-aggregates:delete"),
    Route("POST", f"{AGGREGATE}/action", aggregates.action, f"{API}:os-aggregates:action"),
    Route("POST", f"{AGGREGATE}/images", refused.aggregate_images, f"{API}:os-aggregates:images"),
    Route("GET", f"{SERVER}/topology", refused.server_topology, "compute:server:topology:index"),
    Route("GET", f"{V}/os-server-groups", server_groups.index, f"{API}:os-server-groups:index"),
    Route("POST", f"{V}/os-server-groups", server_groups.create, f"{API}:os-server-groups:create"),
    Route("GET", GROUP, server_groups.show, f"{API}:os-server-groups:show"),
    Route("DELETE", GROUP, server_groups.delete, f"{API}:os-server-groups:delete"),
    Route("POST", f"{V}/os-scheduler-explain", explain.explain, f"{API}:os-scheduler-explain"),
)
