"""Which schema table checks each Compute route's body (method, path template)."""

from __future__ import annotations

from virtfleet.api.compute.schemas import (
    Versioned,
    aggregate,
    console,
    explain,
    flavor,
    keypair,
    quota_set,
    server,
    server_action,
    server_group,
    server_update,
    services,
)

V = "/v2.1"
FLAVOR = f"{V}/flavors/{{flavor_id}}"
SERVER = f"{V}/servers/{{server_id}}"

BODIES: dict[tuple[str, str], Versioned] = {
    ("POST", f"{V}/flavors"): flavor.CREATE,
    ("PUT", FLAVOR): flavor.UPDATE,
    ("POST", f"{FLAVOR}/os-extra_specs"): flavor.SPECS_CREATE,
    ("PUT", f"{FLAVOR}/os-extra_specs/{{key}}"): flavor.SPECS_UPDATE,
    ("POST", f"{V}/servers"): server.CREATE,
    ("POST", f"{SERVER}/action"): server_action.ACTION,
    ("POST", f"{SERVER}/remote-consoles"): console.REMOTE_CONSOLE,
    ("PUT", SERVER): server_update.UPDATE,
    ("POST", f"{SERVER}/metadata"): server_update.METADATA,
    ("PUT", f"{SERVER}/metadata"): server_update.METADATA,
    ("PUT", f"{SERVER}/metadata/{{key}}"): server_update.META_ITEM,
    ("PUT", f"{SERVER}/tags"): server_update.TAGS,
    ("PUT", f"{SERVER}/tags/{{tag}}"): server_update.TAG,
    ("POST", f"{SERVER}/migrations/{{migration_id}}/action"): server_action.FORCE_COMPLETE,
    ("POST", f"{V}/os-scheduler-explain"): explain.EXPLAIN,
    ("PUT", f"{V}/os-services/{{service_id}}"): services.SERVICE_UPDATE,
    ("POST", f"{V}/os-keypairs"): keypair.CREATE,
    ("PUT", f"{V}/os-quota-sets/{{project_id}}"): quota_set.UPDATE,
    ("POST", f"{V}/os-server-groups"): server_group.CREATE,
    ("POST", f"{V}/os-aggregates"): aggregate.CREATE,
    ("PUT", f"{V}/os-aggregates/{{aggregate_id}}"): aggregate.UPDATE,
    ("POST", f"{V}/os-aggregates/{{aggregate_id}}/action"): aggregate.ACTION,
    ("POST", f"{V}/os-aggregates/{{aggregate_id}}/images"): aggregate.IMAGES,
}
