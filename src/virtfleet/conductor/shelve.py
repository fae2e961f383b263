"""Shelve, shelve-offload and unshelve, as the conductor runs them.

shelve
    the guest is stopped gracefully (as ``os-stop``: ACPI, ``os_shutdown_timeout`` or
    ``[compute] shutdown_timeout``, then forced), its root disk snapshotted into the
    queued ``<name>-shelved`` image the Compute API made (as ``createImage``), and the
    server is SHELVED, its system metadata naming ``shelved_at``,
    ``shelved_image_id`` and ``shelved_host``. ``[compute] shelved_offload_time`` 0
    offloads at once; a failure deletes the image, starts a guest that ran again and
    ends the task where the server was.
shelve-offload
    the domain and its disk leave the host, the placement allocation is given back,
    the ports are unbound: SHELVED_OFFLOADED, on no host.
unshelve
    a SHELVED server is started again where it is; an offloaded one is scheduled
    with its boot request (arch, maxphysaddr, slices, vGPUs, its group and its zone,
    or the zone / host the unshelve names), claimed, checked against its group and
    spawned from the shelve image, trying the next host on a failure — a move on the
    shared steps (:mod:`virtfleet.conductor.moves.unshelve_flow`); once it runs the
    shelve image is deleted. A failure on every host leaves it offloaded and
    holding nothing, with the reasons in the action's event.
"""

from __future__ import annotations

import datetime
import logging
import pathlib
from collections.abc import Callable
from typing import Any

from oslo_config import cfg

from virtfleet import errors
from virtfleet.agent.rpcapi import ComputeClient
from virtfleet.conductor import boot
from virtfleet.conductor.moves.unshelve_flow import (
    SHELVED_IMAGE_ID,
    Unshelve,
    UnshelveFlow,
    UnshelveScheduler,
)
from virtfleet.db import hosts, servers
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import utcnow
from virtfleet.network.server_ports import ServerPorts
from virtfleet.servers import actions, service
from virtfleet.servers import states as st

LOG = logging.getLogger(__name__)

SHELVED_AT = "shelved_at"
SHELVED_HOST = "shelved_host"
SHELVE_KEYS = (SHELVED_AT, SHELVED_IMAGE_ID, SHELVED_HOST)

__all__ = ["SHELVED_IMAGE_ID", "Shelving", "Unshelve"]


#: (uuid, work, what): run ``work(uuid)`` in the background under the server's lock.
Submit = Callable[[str, Callable[[str], None], str], None]


class Shelving:
    """The shelve workflows of one conductor."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: Database,
        compute: ComputeClient,
        scheduler: UnshelveScheduler,
        images: boot.Images,
        submit: Submit,
        networks: ServerPorts | None = None,
    ) -> None:
        self._conf = conf
        self._db = db
        self._compute = compute
        self._scheduler = scheduler
        self._images = images
        self._submit = submit
        self._networks = networks

    # ------------------------------------------------------------------ entry points

    def shelve(self, uuid: str, image_id: str) -> None:
        self._submit(uuid, lambda u: self._shelve(u, image_id), "shelve")

    def shelve_offload(self, uuid: str) -> None:
        self._submit(uuid, self._offload_recorded, "shelve offload")

    def unshelve(self, uuid: str, where: Unshelve) -> None:
        self._submit(uuid, lambda u: self._unshelve(u, where), "unshelve")

    def offload_due(self) -> list[str]:
        """Offload the servers shelved longer than ``[compute] shelved_offload_time``
        (the watchdog calls it); their uuids."""
        wait = int(self._conf.compute.shelved_offload_time)
        if wait <= 0:
            return []
        due = utcnow() - datetime.timedelta(seconds=wait)
        found = []
        for server in servers.list_servers(self._db):
            if server.vm_state != st.SHELVED or server.task_state is not None:
                continue
            shelved_at = _parse_time(server.system_metadata.get(SHELVED_AT))
            if shelved_at is not None and shelved_at <= due:
                try:
                    service.request(self._db, server.uuid, "shelve_offload")
                except (service.InvalidServerState, errors.NotFound):
                    continue
                self.shelve_offload(server.uuid)
                found.append(server.uuid)
        return found

    def forget(self, server: servers.Server) -> None:
        """A deleted server's shelve image goes too (as Nova deletes it)."""
        image_id = server.system_metadata.get(SHELVED_IMAGE_ID)
        if image_id:
            self._drop_image(image_id)

    # ------------------------------------------------------------------ shelve

    def _shelve(self, uuid: str, image_id: str) -> None:
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            self._drop_image(image_id)
            return
        event = "compute_shelve_instance"
        with actions.event(self._db, uuid, actions.SHELVE, event, server.host) as step:
            host = server.host
            if not host or self._transition(uuid, "shelve", resume=True) is None:
                step.fail("the server changed meanwhile (e.g. a delete was asked for)")
                self._drop_image(image_id)
                return
            was_running = server.power_state == int(st.PowerState.RUNNING)
            try:
                self._stop_and_snapshot(server, host, image_id)
            except (errors.VirtfleetError, OSError) as exc:
                LOG.warning("shelve of %s failed: %s", uuid, exc)
                step.fail(f"shelve on {host} failed: {exc}")
                self._drop_image(image_id)
                if was_running:
                    self._power_on_again(host, uuid)
                self._transition(uuid, "action_failed")
                return
            shelved = {
                **server.system_metadata,
                SHELVED_AT: utcnow().isoformat(),
                SHELVED_IMAGE_ID: image_id,
                SHELVED_HOST: host,
            }
            fields: dict[str, Any] = {
                "power_state": int(st.PowerState.SHUTDOWN),
                "system_metadata": shelved,
            }
            if int(self._conf.compute.shelved_offload_time) != 0:
                self._transition(uuid, "shelve_done", **fields)
                return
            if self._transition(uuid, "shelve_offload_begin", **fields) is None:
                return
            step.host = host
            self._offload(uuid, step)

    def _stop_and_snapshot(self, server: servers.Server, host: str, image_id: str) -> None:
        timeout = boot.shutdown_timeout(server, int(self._conf.compute.shutdown_timeout))
        waiting = self._compute
        if timeout > 0:
            waiting = self._compute.with_timeout(float(self._conf.rpc_response_timeout) + timeout)
        waiting.power_off(host, server.uuid, timeout)
        staging = pathlib.Path(self._images.staging_path(image_id))
        try:
            slow = self._compute.with_timeout(10 * self._conf.rpc_response_timeout)
            slow.snapshot(host, server.uuid, str(staging))
            with staging.open("rb") as data:
                self._images.upload(image_id, iter(lambda: data.read(1 << 20), b""))
        finally:
            staging.unlink(missing_ok=True)

    def _power_on_again(self, host: str, uuid: str) -> None:
        try:
            self._compute.power_on(host, uuid)
        except errors.VirtfleetError as exc:
            LOG.warning("server %s: could not start the guest again on %s: %s", uuid, host, exc)

    # ------------------------------------------------------------------ offload

    def _offload_recorded(self, uuid: str) -> None:
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            return
        event = "compute_shelve_offload_instance"
        with actions.event(self._db, uuid, actions.SHELVE_OFFLOAD, event, server.host) as step:
            if self._transition(uuid, "shelve_offload", resume=True) is None:
                step.fail("the server changed meanwhile (e.g. a delete was asked for)")
                return
            self._offload(uuid, step)

    def _offload(self, uuid: str, step: actions.Step) -> None:
        """Remove the guest from its host and give back what it held (the caller set
        the task ``shelving_offloading``)."""
        server = servers.get(self._db, uuid)
        host = server.host
        if host and not hosts.host_is_down(self._db, host, self._conf.compute.host_down_after):
            try:
                self._compute.destroy(host, uuid)
            except errors.NotFound:
                pass
            except errors.VirtfleetError as exc:
                LOG.warning("offload of %s: destroy on %s failed: %s", uuid, host, exc)
                step.fail(f"shelve offload on {host} failed: {exc}")
                self._transition(uuid, "action_failed")
                return
        self._scheduler.unclaim(uuid)
        if self._networks is not None:
            self._networks.set_status(uuid, "DOWN")
        self._transition(
            uuid,
            "shelve_offload_done",
            host=None,
            node=None,
            power_state=int(st.PowerState.SHUTDOWN),
        )

    # ------------------------------------------------------------------ unshelve

    def _unshelve(self, uuid: str, where: Unshelve) -> None:
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            return
        event = "compute_unshelve_instance"
        with actions.event(self._db, uuid, actions.UNSHELVE, event, server.host) as step:
            server = self._transition(uuid, "unshelve", resume=True) or server
            if server.task_state != st.UNSHELVING:
                step.fail("the server changed meanwhile (e.g. a delete was asked for)")
                return
            if server.vm_state == st.SHELVED and server.host:
                self._start_in_place(server, step)
                return
            self._unshelve_offloaded(server, where, step)

    def _start_in_place(self, server: servers.Server, step: actions.Step) -> None:
        assert server.host is not None
        try:
            self._compute.power_on(server.host, server.uuid)
        except errors.VirtfleetError as exc:
            step.fail(f"unshelve on {server.host} failed: {exc}")
            self._transition(server.uuid, "action_failed")
            return
        self._finish(server, power_state=int(st.PowerState.RUNNING))

    def _unshelve_offloaded(
        self, server: servers.Server, where: Unshelve, step: actions.Step
    ) -> None:
        """A move onto the first host that takes the guest (:mod:`unshelve_flow`); a
        failure on every host leaves it offloaded, holding nothing, with the reasons."""
        flow = UnshelveFlow(
            self._conf,
            self._db,
            self._compute,
            self._scheduler,
            self._images,
            server,
            where,
            self._networks,
        )
        outcome = flow.run()
        if isinstance(outcome, str):
            LOG.warning("server %s: %s", server.uuid, outcome)
            step.fail(outcome)
            self._transition(server.uuid, "action_failed", host=None, node=None)
            return
        step.host = outcome.host
        self._finish(
            servers.get(self._db, server.uuid),
            power_state=int(st.PowerState.RUNNING),
            **where.zone_fields(),
        )

    def _finish(self, server: servers.Server, **fields: Any) -> None:
        """The server runs again: its shelve image and system metadata go."""
        image_id = server.system_metadata.get(SHELVED_IMAGE_ID)
        kept = {k: v for k, v in server.system_metadata.items() if k not in SHELVE_KEYS}
        done = self._transition(server.uuid, "unshelve_done", system_metadata=kept, **fields)
        if done is not None and image_id:
            self._drop_image(image_id)

    # ------------------------------------------------------------------ helpers

    def _drop_image(self, image_id: str) -> None:
        try:
            self._images.delete(image_id)
        except errors.VirtfleetError as exc:
            LOG.warning("could not delete the shelve image %s: %s", image_id, exc)

    def _transition(
        self, uuid: str, transition: str, resume: bool = False, **fields: object
    ) -> servers.Server | None:
        try:
            return service.request(self._db, uuid, transition, resume=resume, **fields)
        except service.InvalidServerState as exc:
            LOG.info("server %s: %s not applied: %s", uuid, transition, exc)
            return None
        except errors.NotFound:
            return None


def _parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
