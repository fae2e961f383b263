"""Rebuild a server in place: the same host, flavor and allocation, a new image.

The Compute API has already resolved and checked the new guest request (and that the
host runs it) and set the task ``rebuilding``; here the guest's domain and disk go,
the server takes the new image (and key or user data), and the guest is spawned again
from that image — stopped again when it was stopped, as Nova does. The new image's
data is fetched to the host and verified first (``fetch_images``): a bad image
(missing or corrupt data) and a host that cannot remove the old guest leave the server
as it was (the task ends, the event says why);
a spawn that fails after the old disk is gone leaves it in ERROR with the reason (the
allocation and ports stay with it: nothing of the failed spawn is left on the host).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

from virtfleet import errors
from virtfleet.agent.rpcapi import ComputeClient
from virtfleet.conductor import boot
from virtfleet.conductor.moves.services import MigrationPlacement, Submit
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import utcnow
from virtfleet.network.server_ports import ServerPorts
from virtfleet.objects.instance import InstanceSpec
from virtfleet.servers import actions, service
from virtfleet.servers import states as st
from virtfleet.servers.instance_data import config_drive_files
from virtfleet.servers.instance_facts import instance_facts

LOG = logging.getLogger(__name__)

#: Nova's event name of the host's step, as ``server event show`` lists it.
REBUILD_EVENT = "compute_rebuild_instance"

#: The server fields a rebuild may change on the record once the old guest is gone.
REBUILT_FIELDS = frozenset(
    {"image_ref", "image", "guest_request", "key_name", "key_data", "user_data"}
)


class Rebuilds:
    """Runs rebuilds in the background, one workflow per server."""

    def __init__(
        self,
        db: Database,
        agents: ComputeClient,
        placement: MigrationPlacement,
        images: boot.Images,
        submit: Submit,
        networks: ServerPorts | None = None,
    ) -> None:
        self._db = db
        self._agents = agents
        self._placement = placement
        self._images = images
        self._submit = submit
        self._networks = networks

    def start(self, instance_uuid: str, changes: Mapping[str, Any]) -> None:
        """Rebuild with ``changes`` (fields of :data:`REBUILT_FIELDS`) in the
        background; the caller has set the task (``rebuild``)."""
        unknown = set(changes) - REBUILT_FIELDS
        if unknown:
            raise errors.InvalidInput(f"a rebuild cannot change {', '.join(sorted(unknown))}")
        self._submit(instance_uuid, self._job(dict(changes)), "rebuild")

    def _job(self, changes: dict[str, Any]) -> Callable[[str], None]:
        def job(uuid: str) -> None:
            self.run(uuid, changes)

        return job

    def run(self, instance_uuid: str, changes: dict[str, Any]) -> None:
        """The rebuild itself; every outcome ends the server's task."""
        try:
            server = servers.get(self._db, instance_uuid)
        except errors.NotFound:
            return
        host = server.host
        stopped = server.vm_state == st.STOPPED
        with actions.event(self._db, instance_uuid, actions.REBUILD, REBUILD_EVENT, host) as step:
            if host is None:
                step.fail("the server is on no host")
                self._end(instance_uuid, "action_failed")
                return
            try:  # a bad image fails here, while the old guest is still whole
                self._agents.fetch_images(host, self._spec(dataclasses.replace(server, **changes)))
            except errors.VirtfleetError as exc:
                step.fail(f"the new image could not be fetched to {host}: {exc}")
                self._end(instance_uuid, "action_failed")
                return
            try:
                self._agents.destroy(host, instance_uuid)
            except errors.NotFound:
                pass  # e.g. an ERROR server whose guest is gone
            except errors.VirtfleetError as exc:
                step.fail(f"the old guest could not be removed from {host}: {exc}")
                self._end(instance_uuid, "action_failed")
                return
            rebuilt = servers.update(self._db, instance_uuid, **changes)
            try:
                self._spawn(rebuilt, host, stopped)
            except errors.VirtfleetError as exc:
                message = f"Rebuild of {instance_uuid} on {host} failed: {exc}"
                step.fail(message)
                self._clean(host, instance_uuid)
                self._end(
                    instance_uuid,
                    "rebuild_failed",
                    fault=servers.fault(message),
                    power_state=int(st.PowerState.NOSTATE),
                )
                return
            power = st.PowerState.SHUTDOWN if stopped else st.PowerState.RUNNING
            self._end(
                instance_uuid,
                "rebuild_done_stopped" if stopped else "rebuild_done",
                power_state=int(power),
                launched_at=utcnow(),
                fault=None,
            )

    def _spec(self, server: servers.Server) -> InstanceSpec:
        """The spawn payload of ``server`` (its ports not bound yet)."""
        held = self._placement.get_consumer_allocations(server.uuid)
        allocations = {rp: dict(a.resources) for rp, a in held.allocations.items()}
        files = boot.image_files(self._images, server)
        drive = (
            config_drive_files(instance_facts(server, self._networks))
            if server.guest_request.config_drive
            else None
        )
        return boot.instance_spec(server, files, allocations, drive)

    def _spawn(self, server: servers.Server, host: str, stopped: bool) -> None:
        spec = self._spec(server)
        if self._networks is not None:
            spec.vifs = self._networks.bind(server.uuid, host)
        self._agents.spawn(host, spec)
        if stopped:
            self._agents.power_off(host, server.uuid)

    def _clean(self, host: str, uuid: str) -> None:
        try:
            self._agents.destroy(host, uuid)
        except errors.VirtfleetError as exc:  # reaped as an orphan later
            LOG.warning("rebuild of %s: clean-up on %s failed: %s", uuid, host, exc)

    def _end(self, uuid: str, transition: str, **fields: Any) -> None:
        try:
            service.request(self._db, uuid, transition, **fields)
        except (service.InvalidServerState, errors.NotFound) as exc:  # e.g. deleted meanwhile
            LOG.info("server %s: %s not applied: %s", uuid, transition, exc)
