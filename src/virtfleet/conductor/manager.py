"""The conductor: the control plane's workflows (boot, delete, power actions) and the
``conductor`` RPC topic the agents talk to.

:class:`Conductor` implements the Compute API's ``ConductorAPI``: workflows run on a
thread pool and return at once (one at a time per server); console output and domain
XML are answered synchronously. Boot: schedule and claim, spawn on the chosen host,
and on a failure release the claim, try another host (up to ``[scheduler]
max_attempts``) or end in ERROR with a fault that says why — nothing stays allocated.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import contextvars
import datetime
import logging
import pathlib
import threading
from collections.abc import Callable, Iterator
from typing import Protocol, cast

from oslo_config import cfg
from sqlalchemy import inspect

from virtfleet import errors
from virtfleet.agent.orphans import Orphan
from virtfleet.agent.rpcapi import CONDUCTOR_SERVER, CONDUCTOR_TOPIC, ComputeClient
from virtfleet.conductor import boot, mdev_reaper, orphans, reconcile
from virtfleet.conductor.host_reports import HostReporter, PlacementForReports
from virtfleet.conductor.membership import Membership
from virtfleet.conductor.moves import (
    ColdMoves,
    LiveMigrations,
    MigrationPlacement,
    MigrationScheduler,
)
from virtfleet.conductor.moves.evacuations import Evacuations
from virtfleet.conductor.moves.unshelve_flow import UnshelveScheduler
from virtfleet.conductor.port_refresh import PortRefresher
from virtfleet.conductor.rebuild import Rebuilds
from virtfleet.conductor.rescue import Rescues
from virtfleet.conductor.shelve import Shelving
from virtfleet.db import control_servers, hosts, mdev_claims, servers
from virtfleet.db import server_groups as group_db
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import utcnow
from virtfleet.image import in_use
from virtfleet.network.server_ports import ServerPorts
from virtfleet.objects.host_report import HostReport
from virtfleet.objects.rescue_device import RescueDevice
from virtfleet.objects.rpc_results import (
    ConsoleEndpoint,
    EvacuatedGuest,
    HostReportReceipt,
    OrphanDomain,
)
from virtfleet.objects.vif import GuestVif
from virtfleet.rpc import Transport
from virtfleet.scheduler import server_groups
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.servers import actions, console_tokens, service
from virtfleet.servers import states as st
from virtfleet.servers.instance_data import config_drive_files
from virtfleet.servers.instance_facts import instance_facts

LOG = logging.getLogger(__name__)

WATCH_INTERVAL = 60.0  # seconds between checks for stuck servers (and silent hosts)


class SchedulerAPI(Protocol):
    """The part of the scheduler the conductor uses."""

    def schedule_and_claim(self, spec: RequestSpec) -> Selection: ...
    def unclaim(self, instance_uuid: str) -> None: ...


class ConductorEndpoint:
    """What the control plane serves to agents on ``conductor``: only these methods,
    each the counterpart of :class:`~virtfleet.agent.rpcapi.ConductorClient`'s."""

    def __init__(self, conductor: Conductor) -> None:
        self._conductor = conductor

    def report_host(self, report: HostReport) -> HostReportReceipt:
        return self._conductor.reporter.report_host(report).as_receipt()

    def instance_power_state_changed(self, host: str, instance_uuid: str, state: str) -> None:
        self._conductor.instance_power_state_changed(host, instance_uuid, state)

    def live_migrations_ended(self, migration_uuids: list[str]) -> list[str]:
        return self._conductor.live_migrations_ended(migration_uuids)

    def orphan_domains(self, host: str, instance_uuids: list[str]) -> list[OrphanDomain]:
        return [o.as_object() for o in self._conductor.orphan_domains(host, instance_uuids)]

    def evacuated_guests(self, host: str) -> list[EvacuatedGuest]:
        return self._conductor.evacuations.evacuated_from(host)

    def evacuated_guests_removed(self, host: str, migration_uuids: list[str]) -> list[str]:
        return self._conductor.evacuations.source_cleaned(host, migration_uuids)

    def guests_on_host(self, host: str, instance_uuids: list[str]) -> None:
        self._conductor.reconcile_guests(host, instance_uuids)

    def host_ports(self, host: str) -> list[GuestVif]:
        return self._conductor.host_ports(host)


class Conductor:
    """Workflows of the Compute API, and the agents' counterpart."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: Database,
        placement: PlacementForReports,
        scheduler: SchedulerAPI,
        transport: Transport,
        images: boot.Images,
        workers: int = 8,
        networks: ServerPorts | None = None,
    ) -> None:
        self._conf = conf
        self._db = db
        self._scheduler = scheduler
        self._transport = transport
        self._images = images
        self._networks = networks  # None: servers have no ports
        self.reporter = HostReporter(db, placement)
        self.compute = ComputeClient(transport, timeout=conf.rpc_response_timeout)
        self.port_refresher = (
            PortRefresher(networks, self.compute) if networks is not None else None
        )
        if networks is not None and self.port_refresher is not None:
            networks.service.listeners.append(self.port_refresher.changed)
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, "conductor")
        self._pending: set[concurrent.futures.Future[None]] = set()
        self._pending_lock = threading.Lock()
        # servers with a workflow queued or running here (never "stuck": just waiting)
        self._busy: collections.Counter[str] = collections.Counter()
        self._server_locks: collections.defaultdict[str, threading.Lock] = collections.defaultdict(
            threading.Lock
        )
        self._serving = False
        self.name = control_servers.new_name()  # this start's name among the servers
        self.membership = Membership(
            db,
            self.name,
            conf.conductor.heartbeat_interval,
            conf.conductor.dead_after,
            after_beat=self.take_over_dead_work,
        )
        self._stopping = threading.Event()
        self._recovering = threading.Event()
        self._watchdog: threading.Thread | None = None
        self.live_migrations = LiveMigrations(  # os-migrateLive, os-migrations
            conf,
            db,
            cast(MigrationPlacement, placement),
            cast(MigrationScheduler, scheduler),
            transport,
            self._submit,
            owner=self.name,
            alive=self.membership.alive,
            networks=networks,
        )
        self.shelving = Shelving(  # shelve, shelveOffload, unshelve
            conf,
            db,
            self.compute,
            cast(UnshelveScheduler, scheduler),
            images,
            self._submit,
            networks,
        )
        self.evacuations = Evacuations(  # evacuate; the dead source's clean-up
            conf,
            db,
            cast(MigrationPlacement, placement),
            cast(MigrationScheduler, scheduler),
            transport,
            self._submit,
            images,
            owner=self.name,
            networks=networks,
        )
        self.rebuilds = Rebuilds(  # rebuild (same host, new image)
            db,
            self.compute,
            cast(MigrationPlacement, placement),
            images,
            self._submit,
            networks=networks,
        )
        self.rescues = Rescues(  # rescue, unrescue (same host, same allocation)
            db,
            self.compute.with_timeout(3 * float(conf.rpc_response_timeout)),
            cast(MigrationPlacement, placement),
            images,
            self._submit,
        )
        self.cold_moves = ColdMoves(  # migrate, resize, confirmResize, revertResize
            conf,
            db,
            cast(MigrationPlacement, placement),
            cast(MigrationScheduler, scheduler),
            transport,
            self._submit,
            images,
            owner=self.name,
            networks=networks,
        )

    # ----------------------------------------------------------------- lifecycle

    def start(self, recover: bool = True) -> None:
        """Serve the ``conductor`` topic; watch for hosts that stop reporting and for
        servers whose workflow died (see :meth:`recover_stuck_servers`). With
        ``recover=False`` that recovery waits for :meth:`start_recovery` (the embedded
        cloud starts its agents first: a host whose agent is not serving yet cannot be
        asked where a guest is, and its builds would be failed without clean-up)."""
        if recover:
            self._recovering.set()
        self._stopping.clear()
        self.membership.start()
        self._transport.serve(CONDUCTOR_TOPIC, CONDUCTOR_SERVER, ConductorEndpoint(self))
        self._serving = True
        if self.port_refresher is not None:
            self.port_refresher.start()
        down_after = self._conf.compute.host_down_after
        self._watchdog = threading.Thread(
            target=self._watch,
            args=(max(1.0, down_after / 3) if down_after > 0 else WATCH_INTERVAL,),
            name="conductor-watchdog",
            daemon=True,
        )
        self._watchdog.start()

    def stop(self) -> None:
        """Stop serving and finish the workflows already running."""
        self._stopping.set()
        if self.port_refresher is not None:
            self.port_refresher.stop()
        if self._serving:
            self._transport.stop_serving(CONDUCTOR_TOPIC, CONDUCTOR_SERVER)
            self._serving = False
        if self._watchdog is not None:
            self._watchdog.join(timeout=10)
            self._watchdog = None
        self._pool.shutdown(wait=True)
        self.membership.stop()

    def mark_silent_hosts_down(self) -> list[str]:
        """Mark down every up host whose agent has not reported for
        ``[compute] host_down_after`` seconds; returns their names."""
        down_after = self._conf.compute.host_down_after
        if down_after <= 0:
            return []
        cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=down_after)
        gone = hosts.mark_down(self._db, older_than=cutoff)
        for name in gone:
            LOG.warning("host %s has not reported for %ss: marked down", name, down_after)
        return gone

    def recover_stuck_servers(self, stuck_after: float | None = None) -> list[str]:
        """Finish or undo tasks that made no progress for ``stuck_after`` seconds
        (default: twice the RPC timeout, longer than any step of a workflow takes) —
        their workflow died with the process that ran it. A build ends in ERROR with
        its claim released, a delete is done again, a power task is cleared.
        Returns the uuids handled."""
        if stuck_after is None:
            stuck_after = 2.0 * self._conf.rpc_response_timeout
        cutoff = utcnow() - datetime.timedelta(seconds=stuck_after)
        handled = []
        for server in servers.in_progress(self._db):
            action = st.stuck_task_recovery(server.vm_state, server.task_state)
            if action is None or server.updated_at > cutoff:
                continue
            if server.owner not in (None, self.name):
                continue  # a live server's work, or a dead one's (take_over_dead_work)
            if self._has_workflow(server.uuid):
                continue  # queued or running here: slow, not stuck
            LOG.warning(
                "server %s stuck in %s/%s since %s: %s",
                server.uuid, server.vm_state, server.task_state, server.updated_at, action,
            )  # fmt: skip
            with self._locked(server.uuid):
                if action == "fail_build":
                    if server.host:  # the guest may exist: spawn could have finished
                        self._cleanup_host(server.host, server.uuid)
                    self._fail_build(server.uuid, [], None, 500, interrupted=True)
                elif action == "delete":
                    self._delete(server.uuid)
                elif action == "recover_migration":
                    if self.live_migrations.in_progress(server.uuid):
                        continue  # recover_interrupted_migrations finishes or undoes it
                    if not self.live_migrations.settle_completed(server.uuid):
                        self._transition(server.uuid, "clear_stuck_task")
                else:
                    self._transition(server.uuid, "clear_stuck_task")
            handled.append(server.uuid)
        return handled

    def take_over_dead_work(self) -> list[str]:
        """Take over the tasks of servers that missed their heartbeats: a build is
        finished (the guest already runs on its host) or run again from scheduling, a
        delete is done again, a power task is cleared; their live migrations are
        finished or rolled back (:meth:`recover_interrupted_migrations`). Work of live
        servers is never touched; when this server's own heartbeat is late it takes
        nothing (it may look dead to the others). Returns the servers taken over."""
        if not self._recovering.is_set():
            return []
        alive = self.membership.alive()
        if self.name not in alive:
            return []
        taken = []
        for server in servers.in_progress(self._db):
            owner = server.owner
            if owner is None or owner in alive:
                continue
            if server.task_state == st.MIGRATING and self.live_migrations.in_progress(server.uuid):
                continue  # recover_interrupted_migrations finishes or undoes it
            if not servers.take_over(self._db, server.uuid, owner, self.name):
                continue  # another server took it first
            action = st.stuck_task_recovery(server.vm_state, server.task_state)
            LOG.warning("server %s: its task %s/%s belonged to %s, which is dead: %s",
                        server.uuid, server.vm_state, server.task_state, owner, action)  # fmt: skip
            if action == "fail_build":
                self._submit(server.uuid, self._resume_build, "build taken over")
            elif action == "delete":
                self._submit(server.uuid, self._delete, "delete taken over")
            elif action == "recover_migration":
                # Killed before its migration record existed (or after it ended).
                if not self.live_migrations.settle_completed(server.uuid):
                    self._transition(server.uuid, "clear_stuck_task")
            else:
                self._transition(server.uuid, "clear_stuck_task")
            taken.append(server.uuid)
        if any(m.owner is not None for m in self.live_migrations.orphans()):
            self.recover_interrupted_migrations()
        return taken

    def _resume_build(self, uuid: str) -> None:
        """Finish a dead server's build: done when its guest already runs on the host
        it chose, else cleaned up there and built again from scheduling; ERROR with
        the reason when that host cannot be asked."""
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            return
        if server.vm_state != st.BUILDING:
            return
        if server.host:
            try:
                state = self.compute.get_power_state(server.host, uuid)
            except errors.NotFound:
                state = None
            except errors.VirtfleetError as exc:
                LOG.warning(
                    "build of %s taken over: %s cannot be asked: %s", uuid, server.host, exc
                )
                self._fail_build(uuid, [], None, 500, interrupted=True)
                return
            if state == "running":
                self._transition(
                    uuid,
                    "build_done",
                    power_state=int(st.PowerState.RUNNING),
                    launched_at=utcnow(),
                )
                return
            if state is not None:
                self._cleanup_host(server.host, uuid)
        self._build(uuid)

    def recover_interrupted_migrations(self) -> dict[int, str]:
        """Finish or roll back live migrations whose workflow died with an earlier
        control plane (asking the agents where each guest is); returns migration id ->
        action (``wait``: asked again at the next round)."""
        done: dict[int, str] = {}
        for migration in self.live_migrations.orphans():
            with self._locked(migration.instance_uuid):
                try:
                    done[migration.id] = self.live_migrations.recover(migration.id)
                except Exception:  # one bad record must not stop the others
                    LOG.exception("recovery of migration %s failed", migration.id)
        return done

    def live_migrations_ended(self, migration_uuids: list[str]) -> list[str]:
        """Which of these migrations have ended (or are unknown): an agent's mdev
        claims for them are stale."""
        ended = mdev_reaper.migration_ended(self._db)
        return [uuid for uuid in migration_uuids if ended(uuid)]

    def host_ports(self, host: str) -> list[GuestVif]:
        """The compute ports bound to ``host`` (none without a network service)."""
        return self._networks.host_vifs(host) if self._networks is not None else []

    def orphan_domains(self, host: str, instance_uuids: list[str]) -> list[Orphan]:
        """Which of the domains ``host`` holds should not be there (see
        :mod:`virtfleet.conductor.orphans`)."""
        return orphans.find_orphans(self._db, host, instance_uuids)

    def reap_mdev_claims(self) -> list[str]:
        """Release mdev claims of migrations that ended (or are older than
        ``[devices] mdev_claim_max_age``); returns their migration uuids."""
        max_age = datetime.timedelta(seconds=self._conf.devices.mdev_claim_max_age)
        reaped = mdev_reaper.reap_mdev_claims(self._db, max_age)
        for migration in reaped:
            LOG.warning("released stale mdev claims of migration %s", migration)
        return reaped

    def start_recovery(self) -> None:
        """Begin recovering the work of dead servers (see :meth:`start`)."""
        self._recovering.set()

    def _watch(self, interval: float) -> None:
        while not self._recovering.is_set():
            if self._stopping.wait(0.1):
                return
        while True:
            try:
                self.mark_silent_hosts_down()
                self.recover_stuck_servers()
                self.recover_interrupted_migrations()
                self.reap_mdev_claims()
                self.cold_moves.auto_confirm()
                self.shelving.offload_due()
            except Exception:
                LOG.exception("checking for silent hosts and stuck servers failed")
            if self._stopping.wait(interval):
                return

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every workflow submitted so far has finished (for tests/tools)."""
        with self._pending_lock:
            pending = set(self._pending)
        concurrent.futures.wait(pending, timeout=timeout)

    def _submit(self, uuid: str, work: Callable[[str], None], what: str) -> None:
        def run() -> None:
            with self._locked(uuid):
                try:
                    work(uuid)
                except Exception:
                    LOG.exception("%s of server %s failed", what, uuid)

        with self._pending_lock:
            self._busy[uuid] += 1
        # the workflow runs under the request id (and any other context) of its caller
        future = self._pool.submit(contextvars.copy_context().run, run)
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(lambda done: self._forget(done, uuid))

    def _forget(self, future: concurrent.futures.Future[None], uuid: str) -> None:
        with self._pending_lock:
            self._pending.discard(future)
            self._busy[uuid] -= 1
            if self._busy[uuid] <= 0:
                del self._busy[uuid]

    def _has_workflow(self, uuid: str) -> bool:
        """Whether a workflow of server ``uuid`` is queued or running in this process."""
        with self._pending_lock:
            return uuid in self._busy

    @contextlib.contextmanager
    def _locked(self, uuid: str) -> Iterator[None]:
        with self._pending_lock:
            lock = self._server_locks[uuid]
        with lock:
            yield

    # ------------------------------------------------------------ Compute API

    def build_server(self, uuid: str) -> None:
        """Boot the server (asynchronous)."""
        self._submit(uuid, self._build_recorded, "build")

    def delete_server(self, uuid: str) -> None:
        """Delete the server (asynchronous)."""
        self._submit(uuid, self._delete_recorded, "delete")

    def _build_recorded(self, uuid: str) -> None:
        """:meth:`_build` as the create action's event (its fault when it failed)."""
        with actions.event(self._db, uuid, actions.CREATE, "compute__do_build_and_run_instance"
                           ) as step:  # fmt: skip
            self._build(uuid)
            self._fail_step_on_error(uuid, step)

    def _delete_recorded(self, uuid: str) -> None:
        with actions.event(self._db, uuid, actions.DELETE, "compute_terminate_instance") as step:
            self._delete(uuid)
            self._fail_step_on_error(uuid, step)

    def _fail_step_on_error(self, uuid: str, step: actions.Step) -> None:
        """Fail ``step`` with the server's fault when the work left it in ERROR."""
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            return
        step.host = server.host
        if server.vm_state == st.ERROR:
            step.fail(str((server.fault or {}).get("message", "the server is in ERROR")))

    def stop_server(self, uuid: str) -> None:
        self._submit(uuid, lambda u: self._power(u, "power_off"), "stop")

    def start_server(self, uuid: str) -> None:
        self._submit(uuid, lambda u: self._power(u, "power_on"), "start")

    def server_action(self, uuid: str, action: str) -> None:
        """``pause``, ``unpause``, ``suspend`` or ``resume`` the guest (asynchronous)."""
        if action not in ("pause", "unpause", "suspend", "resume"):
            raise ValueError(f"not a server action the conductor runs: {action}")
        self._submit(uuid, lambda u: self._power(u, action), action)

    def rescue_server(self, uuid: str, image_id: str, device: RescueDevice | None = None) -> None:
        """Boot the guest from image ``image_id``: its first disk, its own second, or
        with ``device`` attached as that device beside its own disks (asynchronous)."""
        self.rescues.rescue(uuid, image_id, device)

    def unrescue_server(self, uuid: str) -> None:
        """Boot the rescued guest from its own disk again (asynchronous)."""
        self.rescues.unrescue(uuid)

    def snapshot_server(self, uuid: str, image_id: str) -> None:
        """Snapshot the guest's root disk into the queued image ``image_id`` (async)."""
        self._submit(uuid, lambda u: self._snapshot(u, image_id), "snapshot")

    def _snapshot(self, uuid: str, image_id: str) -> None:
        """The agent writes the disk, flattened, beside the image store; uploaded, it
        makes the image active. On a failure the image is deleted and the event says
        why; the server's task ends either way."""
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            self._drop_image(image_id)
            return
        event = "compute_snapshot_instance"
        with actions.event(self._db, uuid, actions.CREATE_IMAGE, event, server.host) as step:
            if not server.host or self._transition(uuid, "snapshot", resume=True) is None:
                step.fail("the server changed meanwhile (e.g. a delete was asked for)")
                self._drop_image(image_id)
                return
            staging = pathlib.Path(self._images.staging_path(image_id))
            try:
                slow = self.compute.with_timeout(10 * self._conf.rpc_response_timeout)
                slow.snapshot(server.host, uuid, str(staging))
                with staging.open("rb") as data:
                    self._images.upload(image_id, iter(lambda: data.read(1 << 20), b""))
            except (errors.VirtfleetError, OSError) as exc:
                LOG.warning("snapshot of %s failed: %s", uuid, exc)
                step.fail(f"snapshot on {server.host} failed: {exc}")
                self._drop_image(image_id)
            finally:
                staging.unlink(missing_ok=True)
            self._transition(uuid, "snapshot_done")

    def _drop_image(self, image_id: str) -> None:
        try:
            self._images.delete(image_id)
        except errors.VirtfleetError as exc:
            LOG.warning("could not delete the failed snapshot image %s: %s", image_id, exc)

    def reboot_server(self, uuid: str, hard: bool) -> None:
        action = "reboot_hard" if hard else "reboot_soft"
        self._submit(uuid, lambda u: self._power(u, action), "reboot")

    def get_console_output(self, uuid: str, length: int | None) -> str:
        """The tail (``length`` lines, all when None) of the guest's console log."""
        return self.compute.get_console_output(self._host_of(uuid), uuid, length)

    def set_admin_password(self, uuid: str, password: str) -> None:
        """Set root's password in the running guest (through its guest agent)."""
        self.compute.set_admin_password(self._host_of(uuid), uuid, password)

    def get_console(self, uuid: str, kind: str) -> ConsoleEndpoint:
        """A one-connection relay to console ``kind`` of the guest, opened by its agent."""
        return self.compute.get_console(self._host_of(uuid), uuid, kind)

    def get_domain_xml(self, uuid: str) -> str:
        """The guest's live libvirt domain XML."""
        return self.compute.get_domain_xml(self._host_of(uuid), uuid)

    def _host_of(self, uuid: str) -> str:
        server = servers.get(self._db, uuid)
        if not server.host:
            raise errors.Conflict(f"Server {uuid} is not on any host (vm_state {server.vm_state}).")
        return server.host

    # ----------------------------------------------------------------- agents

    def instance_power_state_changed(self, host: str, instance_uuid: str, state: str) -> None:
        """The hypervisor of ``host`` says the guest is now ``state``.

        Events may arrive out of order, so the agent is asked for the state as it is
        now; the event's state is used only when the agent cannot tell. The asking
        happens outside the server's lock (a host that stopped answering must not hold
        up a delete), and the answer is applied only if no workflow touched the server
        meanwhile."""
        try:
            asked = servers.get(self._db, instance_uuid)
        except errors.NotFound:
            return
        if asked.host != host:  # stale: the guest lives elsewhere now
            return
        try:
            state = self.compute.get_power_state(host, instance_uuid)
        except errors.VirtfleetError as exc:
            LOG.debug("power state of %s on %s unknown (%s); using the event",
                      instance_uuid, host, exc)  # fmt: skip
        with self._locked(instance_uuid):
            try:
                server = servers.get(self._db, instance_uuid)
            except errors.NotFound:
                return
            if (server.host, server.vm_state, server.task_state) != (
                asked.host,
                asked.vm_state,
                asked.task_state,
            ):
                return  # a workflow ran meanwhile: the answer may be stale
            self._apply_power_state(server, state)

    def _apply_power_state(self, server: servers.Server, state: str) -> None:
        """Record the hypervisor's ``state`` of the guest (the caller holds the lock):
        a settled server follows it (SHUTOFF/ACTIVE), any other keeps its vm_state."""
        updates = st.after_power_event(server.vm_state, server.task_state, st.power_state_of(state))
        decided = updates.pop("vm_state", None)
        if decided is not None:
            transition = st.POWER_EVENT_TRANSITIONS[decided]
            if self._transition(server.uuid, transition, **updates) is not None:
                return
        if server.power_state != updates["power_state"]:
            servers.update(self._db, server.uuid, **updates)

    def reconcile_guests(self, host: str, instance_uuids: list[str]) -> list[str]:
        """``host`` has the guests ``instance_uuids``: mark the settled servers recorded
        there whose guest it lacks (see :mod:`virtfleet.conductor.reconcile`); returns
        the uuids marked ERROR."""
        marked: list[str] = []
        for candidate in reconcile.missing_guests(self._db, host, instance_uuids):
            if self._mark_if_gone(host, candidate.uuid):
                marked.append(candidate.uuid)
        return marked

    def _mark_if_gone(self, host: str, uuid: str) -> bool:
        """Ask ``host`` about the guest once more and, if it is gone, put its server in
        ERROR without host or allocations; a guest found after all has its power
        state applied. True when marked."""
        with self._locked(uuid):
            try:
                server = servers.get(self._db, uuid)
            except errors.NotFound:
                return False
            if server.host != host or not reconcile.is_settled(server):
                return False  # a workflow started meanwhile: it decides
            try:
                state = self.compute.get_power_state(host, uuid)
            except errors.NotFound:
                state = None
            except errors.VirtfleetError as exc:  # asked again at the next report
                LOG.info("cannot ask %s about the guest of %s: %s", host, uuid, exc)
                return False
            if state is not None:  # the list was stale: the power event path decides
                self._apply_power_state(server, state)
                return False
            message = reconcile.gone_message(host)
            marked = self._transition(  # refused if a task started meanwhile (any server)
                uuid,
                reconcile.GUEST_GONE,
                fault=servers.fault(
                    message,
                    500,
                    f"the agent of {host} does not list the guest and its hypervisor has "
                    f"no such domain (it was {server.vm_state})",
                ),
                power_state=int(st.PowerState.NOSTATE),
                host=None,
                node=None,
            )
            if marked is None:
                return False
            LOG.warning("server %s: %s; marked ERROR", uuid, message)
            self._scheduler.unclaim(uuid)
            return True

    # -------------------------------------------------------------- workflows

    def _build(self, uuid: str) -> None:
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            return  # deleted before we started
        if server.vm_state != st.BUILDING:
            return
        try:  # the image is the same on every host: check it once, before any claim
            files = boot.image_files(self._images, server)
        except errors.VirtfleetError as exc:
            self._fail_build(uuid, [], exc.message, 400)
            return
        max_attempts = self._conf.scheduler.max_attempts
        failures: list[tuple[str, str]] = []
        tried: set[str] = set()
        no_host: str | None = None
        code = 500
        while True:
            if self._transition(uuid, "schedule", host=None, node=None) is None:
                return  # deleted meanwhile: the delete cleans up
            try:
                spec = boot.request_spec(server, frozenset(tried))
                selection = self._scheduler.schedule_and_claim(spec)
            except errors.NoValidHost as exc:
                no_host = exc.message
                break
            except errors.InvalidInput as exc:
                no_host, code = exc.message, 400
                break
            failure = self._spawn_on(server, selection, files)
            if failure is None:
                return
            failures.append((selection.host, failure))
            tried.add(selection.host)
            if not st.should_retry_build(len(failures), max_attempts):
                break
        self._fail_build(uuid, failures, no_host, code)

    def _spawn_on(
        self, server: servers.Server, selection: Selection, files: boot.ImageFiles
    ) -> str | None:
        """Spawn on the claimed host; None when it worked, else why not (the claim and
        anything on the host are cleaned up)."""
        uuid, host = server.uuid, selection.host
        try:
            node = hosts.get_host_by_uuid(self._db, selection.compute_node_uuid)
            if self._transition(uuid, "spawn", host=host, node=node.hypervisor_hostname) is None:
                self._scheduler.unclaim(uuid)  # deleted meanwhile: the delete does the rest
                return None
            conflict = server_groups.violation(self._db, uuid, host)
            if conflict is not None:  # a racing member of its group got there first
                LOG.info("server %s not spawned on %s: %s", uuid, host, conflict)
                self._scheduler.unclaim(uuid)
                return conflict
            drive = (
                config_drive_files(instance_facts(server, self._networks))
                if server.guest_request.config_drive
                else None
            )
            spec = boot.instance_spec(server, files, selection.allocation_request, drive)
            if self._networks is not None:
                spec.vifs = self._networks.bind(uuid, host)
            self.compute.spawn(host, spec)
        except errors.VirtfleetError as exc:
            LOG.warning("spawning %s on %s failed: %s", uuid, host, exc)
            self._cleanup_host(host, uuid)
            self._scheduler.unclaim(uuid)
            return exc.message
        try:
            service.request(
                self._db,
                uuid,
                "build_done",
                power_state=int(st.PowerState.RUNNING),
                launched_at=utcnow(),
            )
            if self._networks is not None:
                self._networks.set_status(uuid, "ACTIVE")
        except errors.NotFound:  # deleted while spawning: undo everything
            self._cleanup_host(host, uuid)
            self._scheduler.unclaim(uuid)
            self._release_ports(server)
        except service.InvalidServerState as exc:  # a delete was asked for meanwhile
            LOG.info("server %s built but not made active: %s", uuid, exc)
        return None

    def _cleanup_host(self, host: str, uuid: str) -> None:
        if hosts.host_is_down(self._db, host, self._conf.compute.host_down_after):
            LOG.warning("not cleaning up %s on %s: the host is down (reaped when it returns)",
                        uuid, host)  # fmt: skip
            return
        try:
            self.compute.destroy(host, uuid)
        except errors.NotFound:
            pass
        except errors.VirtfleetError as exc:
            LOG.warning("could not clean up %s on %s: %s", uuid, host, exc)

    def _fail_build(
        self,
        uuid: str,
        failures: list[tuple[str, str]],
        no_host: str | None,
        code: int,
        interrupted: bool = False,
    ) -> None:
        self._scheduler.unclaim(uuid)
        group_db.remove_member(self._db, uuid)  # a failed boot leaves no membership
        with contextlib.suppress(errors.NotFound):
            self._release_ports(servers.get(self._db, uuid))
        message = (
            st.BUILD_INTERRUPTED if interrupted else st.build_failure_message(failures, no_host)
        )
        details = st.build_failure_details(failures, no_host)
        fault = servers.fault(message, code, details)
        with contextlib.suppress(errors.NotFound):
            self._transition(uuid, "build_failed", fault=fault, host=None, node=None)

    def _delete(self, uuid: str) -> None:
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            return
        if server.host and hosts.host_is_down(
            self._db, server.host, self._conf.compute.host_down_after
        ):
            LOG.warning(
                "server %s: host %s is down: deleted without its agent; the domain will be "
                "reaped when the host returns ([compute] orphan_domain_action)",
                uuid, server.host,
            )  # fmt: skip
            self._release_mdev_claims(uuid)
        elif server.host:
            timeout = self._shutdown_timeout(server)
            try:
                self._compute_waiting(timeout).destroy(server.host, uuid, timeout)
            except errors.NotFound:
                pass  # the domain is already gone
            except errors.RPCError as exc:  # host unreachable: delete locally
                LOG.warning(
                    "server %s: host %s unreachable, deleting anyway: %s", uuid, server.host, exc
                )
            except errors.VirtfleetError as exc:
                fault = servers.fault(f"Delete failed on {server.host}: {exc}")
                self._transition(uuid, "delete_failed", fault=fault)
                return
        self.cold_moves.forget_server(uuid)  # a move waiting for confirm: its source
        self.evacuations.forget_server(uuid)  # an evacuation's dead source
        self._scheduler.unclaim(uuid)
        self._release_ports(server)
        if inspect(self._db.engine).has_table("console_auth_tokens"):
            console_tokens.delete_for_instance(self._db, uuid)
        servers.delete(self._db, uuid)
        group_db.remove_member(self._db, uuid)
        self.shelving.forget(server)  # a shelved server's image goes with it
        try:  # the data of deleted images only this server still used
            self._images.release(in_use.images_of(server))
        except (errors.VirtfleetError, OSError) as exc:
            LOG.warning("server %s: releasing the data of its images failed: %s", uuid, exc)

    def _release_ports(self, server: servers.Server) -> None:
        """Delete the ports the boot made, unbind the ones the user passed in."""
        if self._networks is None:
            return
        keep = [nic.port_id for nic in server.guest_request.nics if nic.port_id]
        self._networks.release(server.uuid, keep)

    def _release_mdev_claims(self, uuid: str) -> None:
        """Drop the mdev claims any migration of server ``uuid`` holds."""
        if not inspect(self._db.engine).has_table("mdev_claims"):
            return
        held = {c.migration_uuid for c in mdev_claims.list_claims(self._db)
                if c.instance_uuid == uuid}  # fmt: skip
        for migration_uuid in sorted(held):
            mdev_claims.release(self._db, migration_uuid)
            LOG.info("server %s: released the mdev claims of migration %s", uuid, migration_uuid)

    #: power action -> (instance action, event name)
    POWER_EVENTS: dict[str, tuple[str, str]] = {
        "power_off": (actions.STOP, "compute_stop_instance"),
        "power_on": (actions.START, "compute_start_instance"),
        "reboot_hard": (actions.REBOOT, "compute_reboot_instance"),
        "reboot_soft": (actions.REBOOT, "compute_reboot_instance"),
        "pause": (actions.PAUSE, "compute_pause_instance"),
        "unpause": (actions.UNPAUSE, "compute_unpause_instance"),
        "suspend": (actions.SUSPEND, "compute_suspend_instance"),
        "resume": (actions.RESUME, "compute_resume_instance"),
    }

    def _power(self, uuid: str, action_name: str) -> None:
        action = st.POWER_ACTIONS[action_name]
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            return
        instance_action, event_name = self.POWER_EVENTS[action_name]
        with actions.event(self._db, uuid, instance_action, event_name, server.host) as step:
            if not server.host:
                step.fail("the server is on no host")
                self._transition(uuid, "power_failed")
                return
            if self._transition(uuid, action.begin, resume=True) is None:
                step.fail("the server changed meanwhile (e.g. a delete was asked for)")
                return
            timeout = self._shutdown_timeout(server)
            waiting = self._compute_waiting(timeout)
            calls: dict[str, Callable[[str, str], None]] = {
                "power_off": lambda h, u: waiting.power_off(h, u, timeout),
                "power_on": self.compute.power_on,
                "reboot_hard": lambda h, u: self.compute.reboot(h, u, hard=True),
                "reboot_soft": lambda h, u: waiting.reboot(h, u, False, timeout),
                "pause": self.compute.pause,
                "unpause": self.compute.unpause,
                "suspend": self.compute.suspend,
                "resume": self.compute.resume,
            }
            try:
                calls[action_name](server.host, uuid)
            except errors.VirtfleetError as exc:
                LOG.warning("%s of %s failed: %s", action_name, uuid, exc)
                step.fail(f"{action_name} failed on {server.host}: {exc}")
                fault = servers.fault(f"{action_name} failed: {exc}")
                self._transition(uuid, "power_failed", fault=fault)
                return
            self._transition(uuid, action.done, power_state=int(action.power_state))

    def _shutdown_timeout(self, server: servers.Server) -> int:
        return boot.shutdown_timeout(server, int(self._conf.compute.shutdown_timeout))

    def _compute_waiting(self, shutdown_timeout: int) -> ComputeClient:
        """The compute client, waiting long enough for a clean shutdown of that many
        seconds on top of the usual RPC timeout."""
        if shutdown_timeout <= 0:
            return self.compute
        return self.compute.with_timeout(float(self._conf.rpc_response_timeout) + shutdown_timeout)

    def _transition(
        self, uuid: str, transition: str, resume: bool = False, **fields: object
    ) -> servers.Server | None:
        """Apply a transition of the servers service; None (logged) when the server's
        state no longer allows it, e.g. a delete was asked for meanwhile."""
        try:
            return service.request(self._db, uuid, transition, resume=resume, **fields)
        except service.InvalidServerState as exc:
            LOG.info("server %s: %s not applied: %s", uuid, transition, exc)
            return None
