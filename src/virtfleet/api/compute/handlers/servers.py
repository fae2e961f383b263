"""Servers (``/servers``): list, detail, show, create, delete."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

import webob
from sqlalchemy import Connection

from virtfleet import errors
from virtfleet.api import caller
from virtfleet.api.compute import access, field_checks, server_query
from virtfleet.api.compute.admin_password import with_admin_pass
from virtfleet.api.compute.boot_access import boot_access
from virtfleet.api.compute.boot_checks import check_boot, image_snapshot
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.handlers.server_addresses import addresses, addresses_of
from virtfleet.api.compute.handlers.server_state_actions import check_lock, record
from virtfleet.api.compute.name_filter import name_matcher
from virtfleet.api.compute.schemas import server as schema
from virtfleet.api.compute.schemas import server_update as update_schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.compute.views import links
from virtfleet.api.compute.views.servers import detail_view, status, summary_view, zone
from virtfleet.api.validation import validate
from virtfleet.api.wsgi import POLICY_ENVIRON_KEY, HTTPError, Request, json_response
from virtfleet.db import aggregates as aggregate_db
from virtfleet.db import flavors, server_groups, servers
from virtfleet.db import hosts as host_db
from virtfleet.db.servers import Server
from virtfleet.network.records import Caller
from virtfleet.network.server_ports import nic_requests
from virtfleet.scheduler import hints as hint_lib
from virtfleet.scheduler.aggregates import DEFAULT_ZONE, zone_of
from virtfleet.scheduler.hints import SchedulerHints
from virtfleet.servers import actions, service

LOG = logging.getLogger(__name__)

MAX_METADATA_ITEMS = 128

# Fields virtfleet does not implement, accepted only when they ask for nothing.
IGNORED_WHEN_TRIVIAL: dict[str, Callable[[Any], bool]] = {
    "security_groups": lambda v: v in (None, []) or v == [{"name": "default"}],
    "accessIPv4": lambda v: not v,
    "accessIPv6": lambda v: not v,
    "return_reservation_id": lambda v: v in (None, False),
}


def index(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /servers: id, name and links of the caller's servers (filters, paging)."""
    found = _filtered(deps, req)
    body: dict[str, Any] = {"servers": [summary_view(req, s) for s in found]}
    return json_response(_with_next(req, body, found))


def detail(deps: ComputeDeps, req: Request) -> webob.Response:
    """GET /servers/detail: the caller's servers in full (filters, paging)."""
    found = _filtered(deps, req)
    shown = addresses_of(deps, [s.uuid for s in found])
    body: dict[str, Any] = {
        "servers": [detail_view(req, s, addresses=shown[s.uuid]) for s in found]
    }
    return json_response(_with_next(req, body, found))


def show(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """GET /servers/{id}: one server in full."""
    server = access.visible_server(req, deps.db, server_id)
    shown = detail_view(req, server, show=True, addresses=addresses(deps, server))
    return json_response({"server": shown})


def _all_projects(req: Request) -> bool:
    """``all_tenants`` (``openstack server list --all-projects``): every project's
    servers, for those who pass ``...:get_all_tenants`` (403 otherwise, as in Nova)."""
    value = req.GET.get("all_tenants")
    if value is None or value.lower() in ("0", "false", "off", "no"):
        return False
    listing = str(req.environ.get(POLICY_ENVIRON_KEY, "os_compute_api:servers:index"))
    caller.authorize(req, f"{listing}:get_all_tenants")
    return True


def _filtered(deps: ComputeDeps, req: Request) -> list[Server]:
    admin = access.is_admin(req)
    query = server_query.parse(req, admin)
    params = query.filters
    found = servers.list_servers(
        deps.db, host=params.get("host") if admin else None, read_deleted=query.read_deleted
    )
    if query.only_deleted:
        found = [s for s in found if s.deleted_at is not None]
    if _all_projects(req):
        wanted = params.get("project_id") or params.get("tenant_id")
        if wanted:
            found = [s for s in found if s.project_id == wanted]
    else:
        found = [s for s in found if s.project_id == access.project_id(req)]
    if "name" in params:
        matches = name_matcher(params["name"])
        found = [s for s in found if matches(s.name)]
    if query.statuses:
        found = [s for s in found if status(s) in query.statuses]
    if "flavor" in params:
        found = [s for s in found if str(s.flavor.get("id")) == params["flavor"]]
    found = _tag_filtered(found, params)
    if "image" in params:
        found = [s for s in found if s.image_ref == field_checks.ref_id(params["image"])]
    if query.since is not None:
        since = query.since
        found = [s for s in found if _changed_at(s) >= since]
    if query.before is not None:
        before = query.before
        found = [s for s in found if _changed_at(s) <= before]
    found = _field_filtered(deps, found, params)
    marker = req.GET.get("marker")
    if marker is not None:
        ids = [s.uuid for s in found]
        if marker not in ids:
            raise HTTPError(400, f"marker [{marker}] not found")
        found = found[ids.index(marker) + 1 :]
    if "limit" in req.GET:
        found = found[: field_checks.integer("limit", req.GET["limit"], 0)]
    return found


def _changed_at(server: Server) -> datetime.datetime:
    """When the server last changed (its deletion counts)."""
    return server.deleted_at or server.updated_at or server.created_at


#: Filters on one field of the server: exact values, or regular expressions as Nova
#: reads its non-exact filters.
EXACT: dict[str, Callable[[Server], Any]] = {
    "user_id": lambda s: s.user_id,
    "uuid": lambda s: s.uuid,
    "vm_state": lambda s: s.vm_state,
    "task_state": lambda s: s.task_state,
    "power_state": lambda s: str(s.power_state),
    "progress": lambda s: "0" if status(s) in ("BUILD", "ACTIVE") else "",
}
REGEX: dict[str, Callable[[Server], Any]] = {
    "key_name": lambda s: s.key_name,
    "hostname": lambda s: s.hostname or s.name,
    "node": lambda s: s.node,
    "availability_zone": zone,
    "pinned_availability_zone": lambda s: (s.availability_zone or "").partition(":")[0],
    "description": lambda s: s.description,
    "reservation_id": lambda s: f"r-{s.uuid[:8]}",
}


def _field_filtered(deps: ComputeDeps, found: list[Server], params: Any) -> list[Server]:
    for name, field in EXACT.items():
        if name in params:
            found = [s for s in found if server_query.as_text(field(s)) == params[name]]
    for name, field in REGEX.items():
        if name in params:
            matches = server_query.regex(name, params[name])
            found = [s for s in found if matches(server_query.as_text(field(s)))]
    if "locked" in params:
        locked = server_query.flag("locked", params["locked"])
        found = [s for s in found if bool(s.locked) == locked]
    if "config_drive" in params:
        drive = server_query.flag("config_drive", params["config_drive"])
        found = [s for s in found if bool(s.guest_request.config_drive) == drive]
    for name, version in (("ip", 4), ("ip6", 6)):
        if name in params:
            matches = server_query.regex(name, params[name])
            found = [s for s in found if any(matches(a) for a in _ips(deps, s, version))]
    return found


def _ips(deps: ComputeDeps, server: Server, version: int) -> list[str]:
    return [
        a["addr"]
        for by_network in addresses(deps, server).values()
        for a in by_network
        if a["version"] == version
    ]


def _tag_filtered(found: list[Server], params: Any) -> list[Server]:
    """``tags`` (all of them), ``tags-any``, ``not-tags`` (not all), ``not-tags-any``
    (none of them): comma-separated lists (2.26)."""
    for name, keep in (
        ("tags", lambda have, want: want <= have),
        ("tags-any", lambda have, want: bool(want & have)),
        ("not-tags", lambda have, want: not want <= have),
        ("not-tags-any", lambda have, want: not want & have),
    ):
        if name in params:
            wanted = {t for t in params[name].split(",") if t}
            found = [s for s in found if keep(set(s.tags), wanted)]
    return found


def _with_next(req: Request, body: dict[str, Any], found: list[Server]) -> dict[str, Any]:
    if "limit" in req.GET and found and len(found) == int(req.GET["limit"]):
        href = f"{req.host_url}{req.script_name}{req.path_info}?limit={req.GET['limit']}"
        body["servers_links"] = [{"rel": "next", "href": f"{href}&marker={found[-1].uuid}"}]
    return body


def create(deps: ComputeDeps, req: Request) -> webob.Response:
    """POST /servers: accept a boot (checked here) and hand it to the conductor."""
    raw = req.json_body_or_400()
    validate_body(req, raw, schema.CREATE)
    body: dict[str, Any] = raw["server"]
    _check_unsupported(body, deps.networks is not None)
    name: str = body["name"]
    metadata = _metadata(body.get("metadata", {}))
    flavor_ref: str = body["flavorRef"]
    image_ref = body.get("imageRef") or _image_from_block_devices(body)
    if not image_ref:
        raise HTTPError(
            400,
            "imageRef is required: virtfleet boots servers from images "
            "(booting from volumes is not supported).",
        )
    image_id = field_checks.ref_id(field_checks.string("imageRef", image_ref))
    try:
        flavor = flavors.get(deps.db, field_checks.ref_id(flavor_ref))
    except errors.NotFound:
        raise HTTPError(400, f"Flavor {flavor_ref} could not be found (flavorRef).") from None
    image = access.visible_image(req, deps.db, image_id)
    entry = boot_access(deps.db, req, body)
    guest = check_boot(flavor, image, deps.conf, config_drive=entry.config_drive)
    hints = _scheduler_hints(deps, req, raw)
    caller = Caller(access.project_id(req), access.is_admin(req))
    if deps.networks is not None:
        guest = guest.with_nics(nic_requests(deps.networks.service, caller, body.get("networks")))
    quota_check = (
        deps.quota.boot_check(caller.project_id, flavor.snapshot()) if deps.quota else None
    )
    server = servers.create(
        deps.db,
        name=name,
        flavor=flavor.snapshot(),
        image_ref=image.id,
        image=image_snapshot(image),
        guest_request=guest,
        project_id=access.project_id(req),
        user_id=access.user_id(req),
        metadata=metadata,
        owner=deps.owner,
        description=_description(req, body.get("description")),
        tags=_tags(req, body.get("tags")),
        access=entry.access,
        admit=quota_check,
        scheduler_hints=hints.to_primitive(),
        availability_zone=_zone(deps, req, body.get("availability_zone")),
        then=_join(hints.group),
    )
    if deps.networks is not None:
        try:
            deps.networks.allocate(caller, server.uuid, guest.nics)
        except errors.VirtfleetError:
            servers.delete(deps.db, server.uuid)
            server_groups.remove_member(deps.db, server.uuid)
            raise
    actions.begin(
        deps.db, server.uuid, actions.CREATE, req.request_id, server.user_id, server.project_id
    )
    try:
        deps.conductor.build_server(server.uuid)
    except errors.VirtfleetError as exc:
        LOG.warning("handing server %s to the conductor failed: %s", server.uuid, exc)
        service.request(
            deps.db,
            server.uuid,
            "build_failed",
            fault=servers.fault(f"Build could not start: {exc.message}"),
        )
    server_links = links.links(req, "servers", server.uuid)
    created = {
        "id": server.uuid,
        "links": server_links,
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
    }
    with_admin_pass(deps.conf, created, entry.admin_pass)
    headers = {"Location": server_links[0]["href"]}
    return json_response({"server": created}, status=202, headers=headers)


def delete(deps: ComputeDeps, req: Request, server_id: str) -> webob.Response:
    """DELETE /servers/{id}: mark the server deleting and hand it to the conductor."""
    server = access.visible_server(req, deps.db, server_id)
    check_lock(req, server)
    if server.task_state != "deleting":  # a delete asked for again keeps its owner
        service.request(deps.db, server_id, "delete", owner=deps.owner)
        record(deps, req, server_id, actions.DELETE)
    deps.conductor.delete_server(server_id)
    return json_response(None, status=204)


#: Where a boot body may carry its scheduler hints (beside ``server``).
HINT_KEYS = ("os:scheduler_hints", "OS-SCH-HNT:scheduler_hints")


def _scheduler_hints(deps: ComputeDeps, req: Request, raw: dict[str, Any]) -> SchedulerHints:
    """The boot's hints: 400 for an unknown hint, a bad value, or a group the caller
    cannot see."""
    given = [raw[key] for key in HINT_KEYS if key in raw]
    if len(given) > 1:
        raise HTTPError(400, f"Give scheduler hints once, as {HINT_KEYS[0]}.")
    try:
        hints = hint_lib.parse(given[0] if given else None)
    except errors.InvalidInput as exc:
        raise HTTPError(400, exc.message) from None
    if hints.group is not None:
        try:
            group = server_groups.get(deps.db, hints.group)
        except errors.NotFound:
            group = None
        if group is None or (
            group.project_id != access.project_id(req) and not access.is_admin(req)
        ):
            raise HTTPError(
                400, f"Invalid scheduler hint group: server group {hints.group} could not be found."
            )
    return hints


def _zone(deps: ComputeDeps, req: Request, value: Any) -> str | None:
    """``availability_zone``: ``zone``, ``zone:host`` or ``:host`` (a forced host,
    for administrators) as stored with the server; 400 for a zone or host that does
    not exist, or a host outside the zone."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise HTTPError(400, f"Invalid input for field/attribute availability_zone. "
                        f"Value: {value!r}. Expected a string.")  # fmt: skip
    zone, _, host = value.partition(":")
    host = host.partition(":")[0]  # zone:host:node names the node of the host
    aggregates = aggregate_db.list_all(deps.db)
    known = {a.availability_zone for a in aggregates if a.availability_zone} | {DEFAULT_ZONE}
    if zone and zone not in known:
        raise HTTPError(
            400,
            f"Invalid input for field/attribute availability_zone: zone {zone!r} does not "
            f"exist; zones: {', '.join(sorted(known))}.",
        )
    if not host:
        return zone or None
    if not access.is_admin(req):
        raise HTTPError(
            403, f"Forcing host {host} (availability_zone {value!r}) is for administrators."
        )
    try:
        host_db.get_host_by_name(deps.db, host)
    except errors.NotFound:
        raise HTTPError(
            400, f"Compute host {host} could not be found (availability_zone)."
        ) from None
    if zone and zone_of(host, aggregates) != zone:
        raise HTTPError(
            400,
            f"Compute host {host} is in availability zone {zone_of(host, aggregates)}, not {zone}.",
        )
    return f"{zone}:{host}"


def _join(group: str | None) -> Callable[[Connection, str], None] | None:
    """The create's last step: the new server joins ``group`` (none without one)."""
    if group is None:
        return None
    return lambda conn, uuid: server_groups.add_member(conn, group, uuid)


def _description(req: Request, value: Any) -> str | None:
    """``description`` (2.19): at most 255 characters, or null."""
    if value is None:
        return None
    if not at_least(req, "2.19"):
        raise HTTPError(400, "description needs microversion 2.19 or later.")
    return field_checks.string("description", value, allow_empty=True)


def _tags(req: Request, value: Any) -> tuple[str, ...]:
    """``tags`` (2.52): at most 50, each 1 to 60 characters without ',' or '/'."""
    if not value:
        return ()
    if not at_least(req, "2.52"):
        raise HTTPError(400, "tags at boot need microversion 2.52 or later.")
    validate(value, update_schema.TAGS_V2_26["properties"]["tags"])
    return tuple(dict.fromkeys(value))


def _metadata(value: dict[str, str]) -> dict[str, str]:
    """The metadata within quota, its keys non-blank (the schema checked the values)."""
    if len(value) > MAX_METADATA_ITEMS:
        raise HTTPError(
            403, f"Quota exceeded for metadata items: at most {MAX_METADATA_ITEMS} are allowed."
        )
    for key in value:
        field_checks.string(f"metadata key {key!r}", key)
    return dict(value)


def _check_unsupported(body: dict[str, Any], networking: bool) -> None:
    """Fields we accept only in their trivial form (one server, no volumes, ...)."""
    for count_field in ("min_count", "max_count"):
        if count_field in body and field_checks.integer(count_field, body[count_field], 1) != 1:
            raise HTTPError(
                400,
                f"{count_field}={body[count_field]} is not supported: "
                "virtfleet creates one server per request.",
            )
    networks = body.get("networks")
    if not networking and networks not in (None, "auto", "none", []):
        raise HTTPError(
            400,
            f"Invalid input for field/attribute networks. Value: {networks!r}. virtfleet "
            "has no networks: use 'auto' or 'none'.",
        )
    for name, value in body.items():
        is_trivial = IGNORED_WHEN_TRIVIAL.get(name)
        if is_trivial is not None and not is_trivial(value):
            raise HTTPError(
                400,
                f"{name}={value!r} is not supported: virtfleet would have to ignore it.",
            )
    _check_block_devices(body.get("block_device_mapping_v2"), body.get("imageRef"))


def _is_local_image_boot(mapping: Any) -> bool:
    return (
        isinstance(mapping, dict)
        and mapping.get("source_type") == "image"
        and mapping.get("destination_type", "local") == "local"
        and str(mapping.get("boot_index", 0)) == "0"
        and isinstance(mapping.get("uuid"), str)
    )


def _check_block_devices(mappings: Any, image_ref: Any) -> None:
    """Only the mapping the CLI sends for an image boot (one local disk from the
    image) is accepted; volumes and extra disks are refused."""
    if not mappings:
        return
    if (
        not isinstance(mappings, list)
        or len(mappings) != 1
        or not _is_local_image_boot(mappings[0])
    ):
        raise HTTPError(
            400,
            "block_device_mapping_v2 is not supported beyond one local "
            "root disk from the image (source_type image, destination_type "
            "local, boot_index 0): virtfleet boots servers from images only.",
        )
    if image_ref and mappings[0]["uuid"] != field_checks.ref_id(str(image_ref)):
        raise HTTPError(
            400,
            f"block_device_mapping_v2 boots image {mappings[0]['uuid']} "
            f"but imageRef is {image_ref}; they must name the same image.",
        )


def _image_from_block_devices(body: dict[str, Any]) -> str | None:
    mappings = body.get("block_device_mapping_v2")
    if isinstance(mappings, list) and mappings and _is_local_image_boot(mappings[0]):
        return str(mappings[0]["uuid"])
    return None
