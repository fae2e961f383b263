"""Compute API microversions: the one list of versions that change something
virtfleet serves, each with a one-line comment, and the gate handlers and views use.

The API advertises every version from the first to the last here; a version that is
not listed (e.g. 2.48) changes nothing virtfleet implements, and :func:`at_least`
refuses it so that a typo cannot silently change responses. The version documents
are ``handlers/versions.py``.
"""

from __future__ import annotations

from virtfleet.api.wsgi import Microversion, Request, VersionPolicy

VERSIONS: tuple[tuple[str, str], ...] = (
    ("2.1", "base: flavors, extra specs, servers, actions, hypervisors, limits, AZs"),
    ("2.2", "keypairs: type (ssh, x509); create answers 201, delete 204"),
    ("2.3", "server: OS-EXT-SRV-ATTR reservation_id, launch_index, hostname, kernel_id..."),
    ("2.5", "server list: ip6 filter for non-administrators"),
    ("2.6", "POST /servers/{id}/remote-consoles; os-getVNCConsole/os-getSerialConsole gone"),
    ("2.8", "remote consoles: protocol mks, type webmks (valid input, not served)"),
    ("2.9", "server: locked"),
    ("2.10", "keypairs: user_id (an admin acts on another user's key pairs)"),
    ("2.11", "os-services: forced_down (and PUT /os-services/force-down)"),
    ("2.13", "server groups: project_id, user_id"),
    ("2.14", "evacuate: no onSharedStorage, no adminPass in the answer"),
    ("2.15", "server groups: soft-affinity and soft-anti-affinity policies"),
    ("2.16", "server: host_status"),
    ("2.19", "server: description (create, update, rebuild)"),
    ("2.21", "os-instance-actions: a deleted server's actions"),
    ("2.22", "server migrations: force_complete action"),
    ("2.23", "os-migrations: migration_type, links; GET /servers/{id}/migrations[/{mid}]"),
    ("2.24", "server migrations: abort (DELETE /servers/{id}/migrations/{mid})"),
    ("2.25", "os-migrateLive: block_migration 'auto', no disk_over_commit"),
    ("2.26", "server: tags (and /servers/{id}/tags)"),
    ("2.28", "hypervisor: cpu_info is an object, not a JSON string"),
    ("2.29", "evacuate: force"),
    ("2.30", "os-migrateLive: force"),
    ("2.31", "os-console-auth-tokens: tokens of every console type"),
    ("2.33", "os-hypervisors: paging (limit, marker)"),
    ("2.35", "keypairs: paging (limit, marker) of the list"),
    ("2.36", "limits: network quotas (security groups, floating IPs) no longer shown"),
    ("2.37", "server create: networks 'auto' / 'none' (accepted, ignored)"),
    ("2.38", "server list: an unknown status value is a 400"),
    ("2.39", "limits: maxImageMeta no longer shown"),
    ("2.41", "aggregates: uuid"),
    ("2.45", "createImage: the image id in the body, not the Location header"),
    ("2.47", "server: flavor embedded (original_name, vcpus, ram, ..., extra_specs)"),
    ("2.51", "os-instance-actions: events shown to non-administrators"),
    ("2.52", "server create: tags"),
    ("2.53", "hypervisor and os-services: UUID ids"),
    ("2.54", "rebuild: key_name"),
    ("2.55", "flavor: description (create, update, shown)"),
    ("2.56", "migrate (cold): an optional host"),
    ("2.57", "limits: personality limits no longer shown; rebuild: user_data, no personality"),
    ("2.58", "os-instance-actions: updated_at, limit, marker, changes-since"),
    ("2.59", "migrations: uuid; os-migrations paging (limit, marker)"),
    ("2.61", "flavor: extra_specs shown in flavor bodies"),
    ("2.62", "os-instance-actions: an event's host and hostId"),
    ("2.63", "server: trusted_image_certificates"),
    ("2.64", "server groups: policy and rules (max_server_per_host) instead of policies"),
    ("2.65", "server migrations: abort a queued or preparing live migration"),
    ("2.66", "changes-before: server list, os-instance-actions, os-migrations"),
    ("2.68", "os-migrateLive and evacuate: force removed"),
    ("2.71", "server show: server_groups"),
    ("2.73", "server: locked_reason; server list: locked filter"),
    ("2.75", "flavor: swap 0 instead of ''; server list: unknown query parameters are a 400"),
    ("2.77", "unshelve: availability_zone for a SHELVED_OFFLOADED server"),
    ("2.78", "GET /servers/{id}/topology: refused with a 400 (no guest NUMA record)"),
    ("2.80", "migrations: user_id, project_id (and os-migrations filters)"),
    ("2.81", "POST /os-aggregates/{id}/images: refused with a 400 (no pre-caching)"),
    ("2.83", "server list: more filters for non-administrators (key_name, vm_state...)"),
    ("2.84", "os-instance-actions: an event's details (why a step failed)"),
    ("2.88", "hypervisor: usage fields and cpu_info removed, uptime in show"),
    ("2.90", "server: hostname at create and update"),
    ("2.91", "unshelve: host (admin), availability_zone null unpins the server"),
    ("2.92", "keypairs: public_key required (no generated keys); names may hold '@' and '.'"),
    ("2.94", "server: hostname may be a fully qualified domain name"),
    ("2.95", "evacuate: the server lands stopped (SHUTOFF)"),
    ("2.96", "server: pinned_availability_zone"),
)

MIN_VERSION = VERSIONS[0][0]
MAX_VERSION = VERSIONS[-1][0]

POLICY = VersionPolicy(
    service_type="compute",
    minimum=Microversion.parse(MIN_VERSION),
    maximum=Microversion.parse(MAX_VERSION),
    legacy_header="X-OpenStack-Nova-API-Version",
)

KNOWN = frozenset(version for version, _ in VERSIONS)


def at_least(req: Request, version: str) -> bool:
    """True when the request's microversion is ``version`` or newer."""
    if version not in KNOWN:  # a typo here would silently change responses
        raise ValueError(f"microversion {version} is not in VERSIONS")
    return bool(req.microversion.matches(version))
