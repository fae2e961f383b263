"""Unshelve of an offloaded server as a move onto any host, on the shared steps:
the candidates (:func:`~virtfleet.conductor.moves.destination.candidates`: the
server's boot request — arch and traits, maxphysaddr, slices, vGPUs, its group — with
the zone or host the unshelve names, 2.77 / 2.91), the group check and the next
candidate with its reason (:func:`~virtfleet.conductor.moves.retry.first_taker`).

An offloaded server holds nothing, so there is no migration record (as in Nova): the
claim is the instance's own allocation on the candidate. Each try claims, points the
server at the host, binds its ports there and spawns the guest from the shelve
image; a failure at any step undoes that try on its host (the guest destroyed, the
claim dropped, the ports down, the server on no host) and the next candidate is
tried. :meth:`UnshelveFlow.run` answers None once the guest runs, else why no host
took it (every host's reason), nothing held.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Protocol

from oslo_config import cfg

from virtfleet import errors
from virtfleet.agent.rpcapi import ComputeClient
from virtfleet.conductor import boot
from virtfleet.conductor.moves import destination, retry
from virtfleet.conductor.moves.refusals import Refusals
from virtfleet.db import hosts, servers
from virtfleet.db.engine import Database
from virtfleet.network.server_ports import ServerPorts
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.servers.instance_data import config_drive_files
from virtfleet.servers.instance_facts import instance_facts

LOG = logging.getLogger(__name__)

#: the system metadata key naming the shelve image (the compute API's and shelve's)
SHELVED_IMAGE_ID = "shelved_image_id"


class UnshelveScheduler(Protocol):
    """The scheduler as an unshelve uses it: candidates, a claim, dropping it."""

    def select_destinations(
        self, spec: RequestSpec, max_results: int | None = None
    ) -> list[Selection]: ...
    def claim(self, spec: RequestSpec, selection: Selection) -> Selection: ...
    def unclaim(self, instance_uuid: str) -> None: ...


@dataclasses.dataclass(frozen=True)
class Unshelve:
    """Where an unshelve may go: ``zone`` (None: the server's own, "" unpinned) and
    ``host`` (None: the scheduler's choice); ``unpin``: the server's zone is dropped
    (2.77 ``availability_zone: null``)."""

    zone: str | None = None
    host: str | None = None
    unpin: bool = False

    def zone_fields(self) -> dict[str, str | None]:
        """The server's zone once it unshelved (the named one, or none if unpinned)."""
        if self.unpin:
            return {"availability_zone": None}
        if self.zone is not None:
            return {"availability_zone": self.zone}
        return {}


class UnshelveFlow:
    """One unshelve of the offloaded ``server`` (``where``: the request's zone/host)."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: Database,
        agents: ComputeClient,
        scheduler: UnshelveScheduler,
        images: boot.Images,
        server: servers.Server,
        where: Unshelve,
        networks: ServerPorts | None = None,
    ) -> None:
        self._conf = conf
        self._db = db
        self._agents = agents
        self._scheduler = scheduler
        self._images = images
        self._where = where
        self._networks = networks
        image_id = server.system_metadata.get(SHELVED_IMAGE_ID) or server.image_ref
        self._server = dataclasses.replace(server, image_ref=image_id)  # spawned from it

    def spec_for(self, refused: frozenset[str]) -> RequestSpec:
        """The server's boot request with the unshelve's zone and host."""
        spec = boot.request_spec(self._server, refused)
        where, zone = self._where, spec.availability_zone
        if where.unpin:
            zone = None
        elif where.zone is not None:
            zone = where.zone
        host = where.host if where.host is not None else spec.requested_host
        return dataclasses.replace(spec, availability_zone=zone, requested_host=host)

    def run(self) -> Selection | str:
        """The host's selection once the guest runs there; else why not (nothing held)."""
        uuid = self._server.uuid
        try:
            files = boot.image_files(self._images, self._server)
        except errors.VirtfleetError as exc:
            return f"cannot unshelve: {exc}"
        forced = self.spec_for(frozenset()).requested_host
        limit = destination.max_attempts(int(self._conf.scheduler.max_attempts), forced)
        try:
            return retry.first_taker(
                self._db,
                self._scheduler,
                Refusals(uuid, "Unshelve"),
                self.spec_for,
                limit,
                lambda selection: self._take(selection, files),
            )
        except (errors.NoValidHost, errors.InvalidInput) as exc:
            return exc.message

    def _take(self, selection: Selection, files: boot.ImageFiles) -> Selection:
        """Claim ``selection`` and spawn there; RefusedError (that try undone) otherwise."""
        uuid, host = self._server.uuid, selection.host
        try:
            claimed = self._scheduler.claim(self.spec_for(frozenset()), selection)
        except errors.Conflict as exc:
            raise retry.RefusedError(f"lost the claim to a concurrent request ({exc})") from exc
        try:
            self._spawn(claimed, files)
        except errors.VirtfleetError as exc:
            LOG.warning("unshelving %s on %s failed: %s", uuid, host, exc)
            self._undo(host)
            raise retry.RefusedError(exc.message) from exc
        if self._networks is not None:
            self._networks.set_status(uuid, "ACTIVE")
        return claimed

    def _spawn(self, selection: Selection, files: boot.ImageFiles) -> None:
        server, host = self._server, selection.host
        node = hosts.get_host_by_uuid(self._db, selection.compute_node_uuid)
        servers.update(self._db, server.uuid, host=host, node=node.hypervisor_hostname)
        drive = (
            config_drive_files(instance_facts(server, self._networks))
            if server.guest_request.config_drive
            else None
        )
        spec = boot.instance_spec(server, files, selection.allocation_request, drive)
        if self._networks is not None:
            spec.vifs = self._networks.bind(server.uuid, host)
        self._agents.spawn(host, spec)

    def _undo(self, host: str) -> None:
        """Nothing of this try stays: the guest (if any) on ``host``, the claim, the
        ports' status, the server's host."""
        uuid = self._server.uuid
        try:
            self._agents.destroy(host, uuid)
        except errors.VirtfleetError as exc:
            LOG.info("unshelve of %s: nothing to clean on %s (%s)", uuid, host, exc)
        self._scheduler.unclaim(uuid)
        if self._networks is not None:
            self._networks.set_status(uuid, "DOWN")
        servers.update(self._db, uuid, host=None, node=None)
