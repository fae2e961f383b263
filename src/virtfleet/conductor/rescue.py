"""Rescue and unrescue of a server on its host, as the conductor runs them.

The Compute API has checked the state (ACTIVE, SHUTOFF or ERROR for a rescue, RESCUE
for an unrescue) and the rescue image, and set the task (``rescuing`` /
``unrescuing``). A rescue asks the host's agent to boot the guest from a new overlay
over the rescue image with its own root disk second, or, for a stable device rescue
(the image's ``hw_rescue_device`` / ``hw_rescue_bus``, resolved by the API), with the
overlay attached as one more device booted first (``ComputeClient.rescue``); the
server is then RESCUE, running. An unrescue boots it from its own definition again
(ACTIVE, running) and the rescue disk goes. The placement allocation, the ports and
the host do not change. A failure on the host leaves the server as it was (the
driver restores the guest; the task ends, the vm_state stays) with the reason in the
action's event and the server's fault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from virtfleet import errors
from virtfleet.agent.rpcapi import ComputeClient
from virtfleet.conductor import boot
from virtfleet.conductor.moves.services import MigrationPlacement, Submit
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.objects.instance import InstanceSpec
from virtfleet.objects.rescue_device import RescueDevice
from virtfleet.servers import actions, service
from virtfleet.servers import states as st

LOG = logging.getLogger(__name__)

#: Nova's event names of the host's steps, as ``server event show`` lists them.
RESCUE_EVENT = "compute_rescue_instance"
UNRESCUE_EVENT = "compute_unrescue_instance"


class Rescues:
    """Runs rescues and unrescues in the background, one workflow per server."""

    def __init__(
        self,
        db: Database,
        agents: ComputeClient,
        placement: MigrationPlacement,
        images: boot.Images,
        submit: Submit,
    ) -> None:
        self._db = db
        self._agents = agents
        self._placement = placement
        self._images = images
        self._submit = submit

    def rescue(self, instance_uuid: str, image_id: str, device: RescueDevice | None = None) -> None:
        """Rescue from image ``image_id`` in the background (the task is set);
        ``device``: a stable device rescue."""

        def job(uuid: str) -> None:
            self.run_rescue(uuid, image_id, device)

        self._submit(instance_uuid, job, "rescue")

    def unrescue(self, instance_uuid: str) -> None:
        """Unrescue in the background (the task is set)."""
        self._submit(instance_uuid, self.run_unrescue, "unrescue")

    def run_rescue(
        self, instance_uuid: str, image_id: str, device: RescueDevice | None = None
    ) -> None:
        """The rescue itself; every outcome ends the server's task."""

        def on_host(server: servers.Server, host: str) -> None:
            rescue_image = boot.image_data(self._images, image_id, "rescue")
            spec = self._spec(server, own_image_required=True)
            self._agents.rescue(host, spec, rescue_image, device)

        self._run(instance_uuid, actions.RESCUE, RESCUE_EVENT, "Rescue", on_host, "rescue_done")

    def run_unrescue(self, instance_uuid: str) -> None:
        """The unrescue itself; every outcome ends the server's task."""

        def on_host(server: servers.Server, host: str) -> None:
            self._agents.unrescue(host, self._spec(server, own_image_required=False))

        self._run(
            instance_uuid, actions.UNRESCUE, UNRESCUE_EVENT, "Unrescue", on_host, "unrescue_done"
        )

    def _run(
        self,
        instance_uuid: str,
        action: str,
        event_name: str,
        what: str,
        on_host: Callable[[servers.Server, str], None],
        done: str,
    ) -> None:
        """Run ``on_host`` under the action's event: ``done`` (running) when it
        succeeds, else the task ends with the reason in the event and the fault."""
        try:
            server = servers.get(self._db, instance_uuid)
        except errors.NotFound:
            return
        host = server.host
        with actions.event(self._db, instance_uuid, action, event_name, host) as step:
            if host is None:
                step.fail("the server is on no host")
                self._end(instance_uuid, "action_failed")
                return
            try:
                on_host(server, host)
            except errors.VirtfleetError as exc:
                message = f"{what} of {instance_uuid} on {host} failed: {exc}"
                LOG.warning("%s", message)
                step.fail(message)
                self._end(instance_uuid, "action_failed", fault=servers.fault(message))
                return
            self._end(instance_uuid, done, power_state=int(st.PowerState.RUNNING))

    def _spec(self, server: servers.Server, own_image_required: bool) -> InstanceSpec:
        """The server's instance as at boot (its guest request decides the rescue
        disk's bus); its own image data names what the guest's disk is made from, so
        the host's image cache keeps it. An unrescue of a server whose image has gone
        since sends none (the cache's record from the rescue stays)."""
        held = self._placement.get_consumer_allocations(server.uuid)
        allocations = {rp: dict(a.resources) for rp, a in held.allocations.items()}
        try:
            files = boot.image_files(self._images, server)
        except errors.InvalidInput:
            if own_image_required:
                raise
            files = boot.ImageFiles()
        return boot.instance_spec(server, files, allocations)

    def _end(self, uuid: str, transition: str, **fields: Any) -> None:
        try:
            service.request(self._db, uuid, transition, **fields)
        except (service.InvalidServerState, errors.NotFound) as exc:  # e.g. deleted meanwhile
            LOG.info("server %s: %s not applied: %s", uuid, transition, exc)
