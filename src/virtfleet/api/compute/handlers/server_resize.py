"""Cold migration and resize of a server.

    POST /servers/{id}/action  {"migrate": null | {"host": H}}     admin; host from 2.56
    POST /servers/{id}/action  {"resize": {"flavorRef": F}}
    POST /servers/{id}/action  {"confirmResize": null}             204
    POST /servers/{id}/action  {"revertResize": null}              202

Both moves land in VERIFY_RESIZE; the workflows are the conductor's ``cold_moves``
(:mod:`virtfleet.conductor.moves.resizes`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import webob
from sqlalchemy import Connection

from virtfleet import errors
from virtfleet.api.compute import access, field_checks, group_checks
from virtfleet.api.compute.boot_checks import check_flavor_request, has_cdrom_bus
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.compute.handlers.server_state_actions import begin, check_lock, record
from virtfleet.api.compute.schemas import server_action as schema
from virtfleet.api.compute.schemas import validate_body
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request, json_response
from virtfleet.db import flavors, hosts, servers
from virtfleet.db.flavors import Flavor
from virtfleet.db.migration_records import Migration
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.guest_resolution import (
    BootPair,
    resolve_config_drive,
    resolve_guest_request,
)
from virtfleet.servers import actions, service
from virtfleet.virt import arch as virt_arch


def migrate(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``migrate``: move the server to another host (the scheduler's choice, or
    ``host`` from 2.56), stopped while its disk is copied; it lands in VERIFY_RESIZE."""
    access.require_admin(req, "os_compute_api:os-migrate-server:migrate")
    validate_body(req, argument, schema.MIGRATE)
    host = (argument or {}).get("host") if at_least(req, "2.56") else None
    server = access.visible_server(req, deps.db, server_id)
    service.check(server, "migrate")
    if host is not None:
        _known_host(deps, host)
        if host == server.host:
            raise HTTPError(
                400, f"Unable to migrate instance ({server_id}) to current host ({host})."
            )
        group_checks.refuse_breaking_group(deps.db, server_id, host)
    service.request(deps.db, server_id, "migrate", owner=deps.owner)
    record(deps, req, server_id, actions.MIGRATE)
    _start(deps, server_id, host, None, None)
    return json_response(None, status=202)


def resize(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``resize``: move the server to a new flavor (another host, or its own with
    ``[compute] allow_resize_to_same_host``); it lands in VERIFY_RESIZE."""
    validate_body(req, argument, schema.RESIZE)
    server = access.visible_server(req, deps.db, server_id)
    check_lock(req, server)
    service.check(server, "resize")
    flavor_ref = field_checks.ref_id(str(argument["flavorRef"]))
    try:
        flavor = flavors.get(deps.db, flavor_ref)
    except errors.NotFound:
        raise HTTPError(400, f"Flavor {flavor_ref} could not be found (flavorRef).") from None
    if str(flavor.id) == str(server.flavor.get("id")):
        raise HTTPError(400, "When resizing, instances must change flavor!")
    old_disk = int(server.flavor.get("root_gb", 0) or 0)
    if flavor.root_gb < old_disk:
        raise HTTPError(
            400,
            f"Resizing the root disk down (flavor {flavor.name}: {flavor.root_gb} GiB, "
            f"now {old_disk} GiB) is not supported.",
        )
    guest = _guest_request(deps, server, flavor)
    admit = _quota_check(deps, server, flavor)
    service.request(deps.db, server_id, "resize", owner=deps.owner)
    record(deps, req, server_id, actions.RESIZE)
    _start(deps, server_id, None, dict(flavor.snapshot()), guest, admit)
    return json_response(None, status=202)


def _quota_check(
    deps: ComputeDeps, server: servers.Server, flavor: Flavor
) -> Callable[[Connection], None] | None:
    """The project's quota for what the new flavor adds (cores, RAM, any class it asks
    more of): 403 in Nova's wording now when it does not fit; the check is made again
    in the write that records the resize, where racing resizes and boots count."""
    if deps.quota is None:
        return None
    check = deps.quota.resize_check(server.project_id, server.flavor, flavor.snapshot())
    if check is not None:
        with deps.db.read() as conn:
            check(conn)
    return check


def confirm_resize(
    deps: ComputeDeps, req: Request, server_id: str, argument: Any
) -> webob.Response:
    """``confirmResize``: keep the server where it moved; the source is dropped."""
    validate_body(req, argument, schema.NO_ARGUMENT)
    _waiting(deps, req, server_id)
    begin(deps, req, server_id, "confirm_resize", actions.CONFIRM_RESIZE)
    _in_background(deps, server_id, lambda: deps.cold_moves.confirm(server_id))
    return json_response(None, status=204)


def revert_resize(deps: ComputeDeps, req: Request, server_id: str, argument: Any) -> webob.Response:
    """``revertResize``: the server goes back to its source host and old flavor."""
    validate_body(req, argument, schema.NO_ARGUMENT)
    _waiting(deps, req, server_id)
    begin(deps, req, server_id, "revert_resize", actions.REVERT_RESIZE)
    _in_background(deps, server_id, lambda: deps.cold_moves.revert(server_id))
    return json_response(None, status=202)


def _waiting(deps: ComputeDeps, req: Request, server_id: str) -> Migration:
    """The server's move waiting for confirm or revert; 409 when the server is not
    in VERIFY_RESIZE, 400 when it has no such move (Nova's answers)."""
    server = access.visible_server(req, deps.db, server_id)
    service.check(server, "confirm_resize")
    try:
        return deps.cold_moves.waiting(server_id)
    except errors.InvalidInput as exc:
        raise HTTPError(400, exc.message) from None


def _in_background(deps: ComputeDeps, server_id: str, hand_over: Callable[[], None]) -> None:
    try:
        hand_over()
    except Exception:
        with contextlib.suppress(service.InvalidServerState, errors.NotFound):
            servers.update(deps.db, server_id, task_state=None)
        raise


def _start(
    deps: ComputeDeps,
    server_id: str,
    host: str | None,
    flavor: dict[str, Any] | None,
    guest: GuestRequest | None,
    admit: Callable[[Connection], None] | None = None,
) -> None:
    try:
        deps.cold_moves.start(server_id, host, flavor, guest, admit)
    except Exception:
        with contextlib.suppress(service.InvalidServerState):
            service.request(deps.db, server_id, "migration_ended")
        raise


def _known_host(deps: ComputeDeps, host: str) -> None:
    try:
        hosts.get_host_by_name(deps.db, host)
    except errors.NotFound:
        raise HTTPError(400, f"Compute host {host} could not be found.") from None


def _guest_request(deps: ComputeDeps, server: servers.Server, flavor: Flavor) -> GuestRequest:
    """The guest request of the server's image with the new flavor, resolved as a boot
    resolves it (400 naming what the pair cannot do); the server's NICs and config
    drive carry over."""
    image_props = dict((server.image or {}).get("properties") or {})
    pair = BootPair(
        flavor_name=flavor.name,
        memory_mb=flavor.memory_mb,
        extra_specs=dict(flavor.extra_specs),
        image_id=server.image_ref,
        image_properties=image_props,
        default_arch=server.guest_request.native_arch,  # the arch the boot resolved
    )
    try:
        guest = resolve_guest_request(pair, virt_arch.canonicalize)
        forced = bool(deps.conf is not None and deps.conf.compute.force_config_drive)
        guest = resolve_config_drive(
            guest, pair, server.guest_request.config_drive, forced, has_cdrom_bus
        )
        check_flavor_request(flavor, image_props, guest, deps.conf)
    except errors.InvalidInput as exc:
        raise HTTPError(400, f"Cannot resize to flavor {flavor.name}: {exc.message}") from None
    return guest.with_nics(list(server.guest_request.nics))
