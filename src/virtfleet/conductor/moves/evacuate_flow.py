"""Evacuation as a :class:`~virtfleet.conductor.moves.flow.MoveFlow`: the server's
host is down, so nothing is asked of it. When the destination sees the guest's disk
on its instances path (shared storage) the guest is defined there again with that
disk, as it is; otherwise it is rebuilt from its image (its disk on the dead host is
lost to it).

Checks of a candidate: the scheduler's (the server's boot request, never the source:
arch traits, maxphysaddr, slices, mdevs in placement, groups), the destination
agent's ``prep_resize`` (no domain of the guest there yet, the guest resolves on that
host) and its ``instance_on_disk``, which must match the caller's
``onSharedStorage`` (before 2.14; from 2.14 the destination decides:
:func:`~virtfleet.conductor.moves.storage.evacuation_refusal`). The claim is the
shared one (the migration's uuid holds the source). The transfer binds the ports to
the destination and spawns the guest there (from its disk in place, or from its
image), powered off again when it is to land stopped; a roll back on shared storage
removes the domain and keeps the disk. The dead source keeps its
allocation (held by the migration, status ``done``) until its agent returns and
removes the guest (:mod:`~virtfleet.conductor.moves.evacuations`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from virtfleet import errors
from virtfleet.conductor import boot
from virtfleet.conductor.moves import destination, storage
from virtfleet.conductor.moves.move import Move
from virtfleet.conductor.moves.services import Services
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.objects.instance import InstanceSpec
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.servers import actions
from virtfleet.servers import states as st
from virtfleet.servers.instance_data import config_drive_files
from virtfleet.servers.instance_facts import instance_facts

LOG = logging.getLogger(__name__)

#: Nova's event names of the destination's steps, as ``server event show`` lists them.
REBUILD_EVENT = "compute_rebuild_instance"
ROLLBACK_EVENT = "compute_rollback_evacuate"


@dataclasses.dataclass
class Evacuee:
    """What one evacuation knows of its destination as it goes."""

    dest_host: str
    on_disk: bool = False  # the guest's disk is on the destination's (shared) path
    spawned: bool = False  # the destination was asked to spawn the guest (it may have)
    bound: bool = False  # the ports were bound to the destination


class EvacuationFlow:
    """One evacuation of ``move.server`` from its (down) host; ``stopped``: the guest
    lands powered off (it was stopped, or microversion 2.95 asks for it);
    ``on_shared_storage``: the caller's word (before 2.14), None: the destination's."""

    def __init__(
        self,
        svc: Services,
        move: Move,
        images: boot.Images,
        stopped: bool,
        on_shared_storage: bool | None = None,
    ) -> None:
        self._svc = svc
        self._move = move
        self._images = images
        self._stopped = stopped
        self._on_shared_storage = on_shared_storage

    @property
    def move(self) -> Move:
        return self._move

    @property
    def awaits_confirm(self) -> bool:
        return False

    def spec_for(self, refused: frozenset[str]) -> RequestSpec:
        move = self._move
        return destination.held_by_migration(
            move.server, move.migration, move.requested_host, refused
        )

    def begin(self) -> None:
        return None  # the source is down: nothing to ask it

    def check(self, selection: Selection) -> Evacuee:
        host = selection.host
        spec = self._instance_spec(selection.allocation_request)
        self._svc.agents.prep_resize(host, spec, same_host=False)
        on_disk = self._svc.agents.instance_on_disk(host, spec.uuid)
        refusal = storage.evacuation_refusal(self._on_shared_storage, on_disk, host)
        if refusal is not None:
            raise errors.InvalidInput(refusal)
        how = "its disk on shared storage, kept" if on_disk else "rebuilt from its image"
        LOG.info("evacuation of %s to %s: %s", spec.uuid, host, how)
        return Evacuee(dest_host=host, on_disk=on_disk)

    def release(self, data: Evacuee) -> None:
        return None  # prep_resize claims nothing on the host

    def prepare(self, data: Evacuee) -> Evacuee:
        return data

    def transfer(self, data: Evacuee) -> None:
        uuid = self._move.server.uuid
        held = self._svc.placement.get_consumer_allocations(uuid)
        spec = self._instance_spec({rp: dict(a.resources) for rp, a in held.allocations.items()})
        if self._svc.networks is not None:
            spec.vifs = self._svc.networks.bind(uuid, data.dest_host)
            data.bound = True
        with actions.event(self._svc.db, uuid, actions.EVACUATE, REBUILD_EVENT, data.dest_host):
            data.spawned = True
            self._svc.agents.spawn(data.dest_host, spec, disk_in_place=data.on_disk)
            if self._stopped:
                self._svc.agents.power_off(data.dest_host, uuid)

    def _instance_spec(self, allocations: Mapping[str, Mapping[str, int]]) -> InstanceSpec:
        server = self._move.server
        files = boot.image_files(self._images, server)
        drive = (
            config_drive_files(instance_facts(server, self._svc.networks))
            if server.guest_request.config_drive
            else None
        )
        return boot.instance_spec(server, files, allocations, drive)

    def landed(self, data: Evacuee) -> bool:
        return False  # a failed rebuild is removed: the guest stays on the dead host

    def roll_back(self, data: Evacuee) -> None:
        """Remove whatever reached the destination and bind the ports back to the
        source; the server stays there (the claim is given back after)."""
        move, uuid = self._move, self._move.server.uuid
        with actions.event(self._svc.db, uuid, actions.EVACUATE, ROLLBACK_EVENT, data.dest_host):
            if data.spawned:
                try:
                    # on shared storage the disk is the guest's own: only the domain goes
                    self._svc.agents.destroy(data.dest_host, uuid, keep_files=data.on_disk)
                except errors.NotFound:
                    pass
                except errors.VirtfleetError as exc:  # reaped as an orphan later
                    LOG.warning("evacuation of %s: destroy on %s failed: %s",
                                uuid, data.dest_host, exc)  # fmt: skip
            if data.bound and self._svc.networks is not None:
                self._svc.networks.bind(uuid, move.source)

    def failure_status(self, exc: BaseException) -> str:
        return records.FAILED

    def finish_at_destination(self, data: Evacuee) -> None:
        if self._svc.networks is not None:
            self._svc.networks.set_status(self._move.server.uuid, "ACTIVE")

    def finish_at_source(self, data: Evacuee) -> None:
        return None  # the source is down: its agent cleans up when it returns

    def arrived(self, dest: str, dest_node: str) -> dict[str, Any]:
        power = st.PowerState.SHUTDOWN if self._stopped else st.PowerState.RUNNING
        return {
            "host": dest,
            "node": dest_node,
            "power_state": int(power),
            "vm_state": st.STOPPED if self._stopped else st.ACTIVE,
            "fault": None,
        }


def lands_stopped(server: servers.Server, stop_requested: bool) -> bool:
    """Whether the evacuated guest ends powered off: it was stopped, or the request
    asked for it (microversion 2.95)."""
    return stop_requested or server.vm_state == st.STOPPED
