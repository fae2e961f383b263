"""Cold migration and resize as a :class:`~virtfleet.conductor.moves.flow.MoveFlow`:
the guest stops on the source, its root disk is copied to the destination, and it
starts there (with the new flavor for a resize). The move lands in VERIFY_RESIZE with
both hosts held (the migration's uuid holds the source in placement) until confirm
or revert (:mod:`~virtfleet.conductor.moves.resizes`).

Checks of a candidate, in order: the scheduler's (the same request as a boot of the
server's — new — flavor and its guest request: arch traits, maxphysaddr, slices,
mdevs in placement), then the destination agent's ``prep_resize`` (the guest
resolves there). Any refusal moves on to the next candidate. Whether the destination
shares the instances path with the source decides how the disk travels: through it,
or pulled by the destination from the source's one-time offer
(``offer_resize_disk``, see :mod:`virtfleet.agent.disk_transfer`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from virtfleet import errors
from virtfleet.conductor import boot
from virtfleet.conductor.moves import storage
from virtfleet.conductor.moves.move import Move
from virtfleet.conductor.moves.services import Services
from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.instance import InstanceSpec
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.servers import actions, service
from virtfleet.servers import states as st
from virtfleet.servers.instance_data import config_drive_files
from virtfleet.servers.instance_facts import instance_facts

LOG = logging.getLogger(__name__)

#: Nova's event names of the steps, as ``server event show`` lists them.
RESIZE_INSTANCE_EVENT = "compute_resize_instance"
FINISH_RESIZE_EVENT = "compute_finish_resize"
ROLLBACK_EVENT = "compute_rollback_resize"


@dataclasses.dataclass
class ColdMove:
    """What one cold move knows of its destination as it goes."""

    dest_host: str
    shared: bool = True  # the destination sees the source's instances path
    kept: str = ""  # the source's kept directory once the guest stopped there
    stopped: bool = False  # the source was asked to stop the guest (it may have)
    bound: bool = False  # the ports were bound to the destination


def server_as(server: servers.Server, side: dict[str, Any] | None) -> servers.Server:
    """``server`` with the flavor and guest request of one side of a resize."""
    if not side:
        return server
    return dataclasses.replace(
        server,
        flavor=dict(side["flavor"]),
        guest_request=GuestRequest.from_primitive(side["guest_request"]),
    )


def action_of(migration: records.Migration) -> str:
    return actions.RESIZE if migration.migration_type == records.RESIZE else actions.MIGRATE


class ColdMigrationFlow:
    """One cold migration (``migrate``) or resize (``resize``) of ``move.server``."""

    def __init__(
        self, svc: Services, tracker: MoveTracker, move: Move, images: boot.Images
    ) -> None:
        self._svc = svc
        self._tracker = tracker
        self._move = move
        self._images = images
        flavors = move.migration.flavors or {}
        self._target = server_as(move.server, flavors.get("new"))
        self._was_running = move.server.vm_state == st.ACTIVE
        self._action = action_of(move.migration)

    @property
    def move(self) -> Move:
        return self._move

    @property
    def awaits_confirm(self) -> bool:
        return True

    def _same_host_allowed(self) -> bool:
        return bool(
            self._move.migration.migration_type == records.RESIZE
            and self._svc.conf.compute.allow_resize_to_same_host
        )

    def spec_for(self, refused: frozenset[str]) -> RequestSpec:
        move = self._move
        ignore = set(refused)
        if not self._same_host_allowed():
            ignore.add(move.source)
        base = boot.request_spec(self._target, frozenset(ignore))
        return dataclasses.replace(
            base, instance_uuid=move.migration.uuid, requested_host=move.requested_host
        )

    def begin(self) -> None:
        return None

    def check(self, selection: Selection) -> ColdMove:
        source, dest = self._move.source, selection.host
        spec = self._instance_spec(self._target, selection.allocation_request)
        self._svc.agents.prep_resize(dest, spec, same_host=dest == source)
        shared = dest == source or storage.shared_instance_path(self._svc, source, dest)
        return ColdMove(dest_host=dest, shared=shared)

    def release(self, data: ColdMove) -> None:
        return None  # prep_resize claims nothing on the host

    def prepare(self, data: ColdMove) -> ColdMove:
        service.request(self._svc.db, self._move.server.uuid, "resize_migrating")
        return data

    def transfer(self, data: ColdMove) -> None:
        move, agents = self._move, self._svc.agents
        uuid = move.server.uuid
        with actions.event(self._svc.db, uuid, self._action, RESIZE_INSTANCE_EVENT, move.source):
            data.stopped = True
            data.kept = agents.migrate_disk_and_power_off(move.source, uuid)
            self._record_kept(data.kept)
        held = self._svc.placement.get_consumer_allocations(uuid)
        allocations = {rp: dict(a.resources) for rp, a in held.allocations.items()}
        spec = self._instance_spec(self._target, allocations)
        if self._svc.networks is not None:
            spec.vifs = self._svc.networks.bind(uuid, data.dest_host)
            data.bound = True
        with actions.event(self._svc.db, uuid, self._action, FINISH_RESIZE_EVENT, data.dest_host):
            if data.shared:
                agents.finish_resize(data.dest_host, spec, data.kept, power_on=self._was_running)
                return
            # the destination pulls the kept disk from the source (slower than a call)
            slow = agents.with_timeout(
                float(self._svc.conf.libvirt.disk_transfer_timeout)
                + float(self._svc.conf.rpc_response_timeout)
            )
            offer = slow.offer_resize_disk(move.source, uuid, data.kept)
            slow.finish_resize(
                data.dest_host, spec, data.kept, power_on=self._was_running, offer=offer
            )

    def _record_kept(self, kept: str) -> None:
        migration = records.get(self._svc.db, self._move.migration_id)
        records.update(
            self._svc.db, migration.id, flavors={**(migration.flavors or {}), "kept": kept}
        )

    def _instance_spec(
        self, server: servers.Server, allocations: dict[str, dict[str, int]] | Any
    ) -> InstanceSpec:
        files = boot.image_files(self._images, server)
        drive = (
            config_drive_files(instance_facts(server, self._svc.networks))
            if server.guest_request.config_drive
            else None
        )
        return boot.instance_spec(server, files, allocations, drive)

    def landed(self, data: ColdMove) -> bool:
        return False  # a failed finish is undone: the source still has the disk

    def roll_back(self, data: ColdMove) -> None:
        """Remove whatever reached the destination, then (once the source stopped the
        guest) start it again there from its kept files; a source that cannot leaves
        the server in ERROR with the reason."""
        move, agents = self._move, self._svc.agents
        uuid = move.server.uuid
        with actions.event(self._svc.db, uuid, self._action, ROLLBACK_EVENT, move.source) as step:
            if data.stopped:
                try:
                    agents.destroy(data.dest_host, uuid)
                except errors.VirtfleetError as exc:
                    LOG.warning("cold move of %s: destroy on %s failed: %s",
                                uuid, data.dest_host, exc)  # fmt: skip
            if data.bound and self._svc.networks is not None:
                self._svc.networks.bind(uuid, move.source)
            if not data.stopped or self._still_on_source(data):
                return
            try:
                restore(self._svc, move, self._images, data.kept, self._was_running)
            except errors.VirtfleetError as exc:
                step.fail(f"the guest could not be started again on {move.source}: {exc}")
                servers.update(
                    self._svc.db,
                    uuid,
                    vm_state=st.ERROR,
                    fault=servers.fault(
                        f"Cold migration failed and the guest could not be started again "
                        f"on {move.source}: {exc}"
                    ),
                )

    def _still_on_source(self, data: ColdMove) -> bool:
        """After a failed stop: whether the source still has the guest's domain (then
        it is started again if it ran, and nothing else is needed)."""
        if data.kept:
            return False
        source, uuid = self._move.source, self._move.server.uuid
        try:
            state = self._svc.agents.get_power_state(source, uuid)
        except errors.NotFound:
            return False
        except errors.VirtfleetError as exc:
            LOG.warning("cold move of %s: %s cannot be asked: %s", uuid, source, exc)
            return False
        if self._was_running and state != "running":
            self._svc.agents.power_on(source, uuid)
        return True

    def failure_status(self, exc: BaseException) -> str:
        return records.ERROR

    def finish_at_destination(self, data: ColdMove) -> None:
        if self._svc.networks is not None:
            self._svc.networks.set_status(self._move.server.uuid, "ACTIVE")

    def finish_at_source(self, data: ColdMove) -> None:
        return None  # the source keeps the files until confirm or revert

    def arrived(self, dest: str, dest_node: str) -> dict[str, Any]:
        power = st.PowerState.RUNNING if self._was_running else st.PowerState.SHUTDOWN
        return {
            "host": dest,
            "node": dest_node,
            "power_state": int(power),
            "flavor": dict(self._target.flavor),
            "guest_request": self._target.guest_request,
        }


def restore(svc: Services, move: Move, images: boot.Images, kept: str, power_on: bool) -> None:
    """Start the guest again on the source from its kept files (old flavor, the
    source allocation), then remove the kept files."""
    server = servers.get(svc.db, move.server.uuid)
    old = server_as(server, (move.migration.flavors or {}).get("old"))
    if not kept:
        kept = svc.agents.resize_kept_dir(move.source, server.uuid)
    held = svc.placement.get_consumer_allocations(move.migration.uuid)
    allocations = {rp: dict(a.resources) for rp, a in held.allocations.items()}
    if not allocations:  # given back already: the instance holds the source
        held = svc.placement.get_consumer_allocations(server.uuid)
        allocations = {rp: dict(a.resources) for rp, a in held.allocations.items()}
    files = boot.image_files(images, old)
    drive = (
        config_drive_files(instance_facts(old, svc.networks))
        if old.guest_request.config_drive
        else None
    )
    spec = boot.instance_spec(old, files, allocations, drive)
    if svc.networks is not None:
        spec.vifs = svc.networks.bind(server.uuid, move.source)
    svc.agents.finish_resize(move.source, spec, kept, power_on=power_on)
    try:
        svc.agents.confirm_resize(move.source, kept)
    except errors.VirtfleetError as exc:
        LOG.warning("cold move of %s: kept files %s left on %s: %s",
                    server.uuid, kept, move.source, exc)  # fmt: skip
