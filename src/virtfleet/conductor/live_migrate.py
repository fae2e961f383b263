"""The live-migration workflow (``os-migrateLive``).

    destination choice (scheduler: requested host, or any host but the source, same
    constraints as at boot) -> destination check -> source check -> destination claim
    (a placement allocation held by the migration record's uuid; the instance keeps
    its source allocation) -> pre_live_migration at the destination -> the migration,
    its progress written to the record -> post-migration: the instance's allocation
    becomes the destination's (one atomic write that also drops the migration's),
    server host/node updated — or a rollback that releases everything taken.

A destination that fails a check or loses the claim makes it try the next candidate;
the final error names every refused host and why. Abort cancels the job (or a
migration not yet copying) and rolls back. Decisions live in :mod:`.live_migrate_policy`.

A migration whose workflow died with an earlier control plane is finished or rolled
back by :meth:`LiveMigrations.recover` once the agents say where the guest is
(decisions in :mod:`.live_migrate_recovery`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from oslo_config import cfg

from virtfleet import errors
from virtfleet.agent.rpcapi import ComputeClient
from virtfleet.conductor import boot, mdev_policy
from virtfleet.conductor import live_migrate_policy as policy
from virtfleet.conductor import live_migrate_recovery as recovery
from virtfleet.conductor import states as st
from virtfleet.db import hosts, servers
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.placement.types import ConsumerAllocations, ConsumerRequest
from virtfleet.rpc import Transport
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.virt.libvirt.migration import resolve_block_migration

LOG = logging.getLogger(__name__)

MIGRATING = st.MIGRATING  # the server's task_state while it moves
Submit = Callable[[str, Callable[[str], None], str], None]


class MigrationScheduler(Protocol):
    def select_destinations(
        self, spec: RequestSpec, max_results: int | None = None
    ) -> list[Selection]: ...
    def claim(self, spec: RequestSpec, selection: Selection) -> Selection: ...
    def unclaim(self, instance_uuid: str) -> None: ...


class MigrationPlacement(Protocol):
    def get_consumer_allocations(self, consumer_uuid: str) -> ConsumerAllocations: ...
    def replace_many(self, requests: dict[str, ConsumerRequest]) -> None: ...


class LiveMigrations:
    """Starts, runs, aborts and force-completes live migrations."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: Database,
        placement: MigrationPlacement,
        scheduler: MigrationScheduler,
        transport: Transport,
        submit: Submit,
        owner: str | None = None,
        alive: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        self._conf = conf
        self._owner = owner  # the control server this process is (records' owner)
        self._alive = alive or (lambda: frozenset())
        self._db = db
        self._placement = placement
        self._scheduler = scheduler
        self._agents = ComputeClient(transport, timeout=conf.rpc_response_timeout)
        self._submit = submit
        self._cancelled: set[int] = set()
        self._active: set[int] = set()  # migrations a workflow of this process drives
        self._lock = threading.Lock()
        records.ensure_table(db)

    # ------------------------------------------------------------------ API side

    def start(
        self, instance_uuid: str, host: str | None, block_migration: bool | str, force: bool
    ) -> records.Migration:
        """Record a queued migration and run it in the background. The caller has set
        the server's task_state to ``migrating``."""
        server = servers.get(self._db, instance_uuid)
        if not server.host:
            raise errors.Conflict(f"Server {instance_uuid} is not on any host.")
        migration = records.create(
            self._db,
            instance_uuid=instance_uuid,
            source_compute=server.host,
            source_node=server.node,
            dest_compute=host,
            project_id=server.project_id,
            user_id=server.user_id,
            owner=self._owner,
        )
        if force:
            LOG.info("migration %s: force given; the destination is still checked", migration.id)

        def work(uuid: str) -> None:
            self.run(migration.id, host, block_migration)

        with self._lock:
            self._active.add(migration.id)
        self._submit(instance_uuid, work, "live migration")
        return migration

    def abort(self, instance_uuid: str, migration_id: int) -> None:
        """Cancel an in-progress migration: before copying it stops at the next step,
        while copying the libvirt job is aborted; both roll back."""
        migration = self._own(instance_uuid, migration_id)
        if not migration.in_progress:
            raise errors.Conflict(
                f"Migration {migration_id} is {migration.status}, not in progress; "
                "it cannot be aborted."
            )
        with self._lock:
            self._cancelled.add(migration.id)
        if migration.status == records.RUNNING and migration.source_compute:
            # no job (yet, or any longer) is a Conflict: the flag stops it then
            with contextlib.suppress(errors.Conflict):
                self._agents.live_migration_abort(migration.source_compute, instance_uuid)

    def force_complete(self, instance_uuid: str, migration_id: int) -> None:
        """Let a running migration finish by pausing the guest for the last pass (the
        source agent's driver; the workflow then completes as usual). Conflict when
        the migration is not running, or its job is not (yet, or any longer)."""
        migration = self._own(instance_uuid, migration_id)
        if migration.status != records.RUNNING or not migration.source_compute:
            raise errors.Conflict(
                f"Migration {migration_id} is {migration.status}; only a running "
                "migration can be forced to complete."
            )
        try:
            self._agents.live_migration_force_complete(migration.source_compute, instance_uuid)
        except (errors.NotFound, errors.Conflict) as exc:  # no job, or the guest left
            raise errors.Conflict(
                f"Migration {migration_id} cannot be forced to complete: {exc.message}"
            ) from exc
        LOG.info("migration %s of %s: forced to complete", migration_id, instance_uuid)

    def _own(self, instance_uuid: str, migration_id: int) -> records.Migration:
        migration = records.get(self._db, migration_id)
        if migration.instance_uuid != instance_uuid:
            raise errors.NotFound(
                f"Migration {migration_id} is not a migration of server {instance_uuid}."
            )
        return migration

    # ------------------------------------------------------------------ workflow

    def run(self, migration_id: int, host: str | None, block_migration: bool | str) -> None:
        """The whole migration; every outcome ends the server's task and the record."""
        with self._lock:
            self._active.add(migration_id)
        try:
            self._run(migration_id, host, block_migration)
        finally:
            with self._lock:
                self._active.discard(migration_id)

    def _run(self, migration_id: int, host: str | None, block_migration: bool | str) -> None:
        migration = records.get(self._db, migration_id)
        uuid = migration.instance_uuid
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            records.update(
                self._db, migration_id, status=records.ERROR, error="the server was deleted"
            )
            return
        try:
            self._check_cancelled(migration_id)
            records.update(self._db, migration_id, status=records.PREPARING)
            chosen = self._choose_destination(server, migration, host, block_migration)
        except (errors.VirtfleetError, policy.MigrationCancelled) as exc:
            cancelled = isinstance(exc, policy.MigrationCancelled)
            self._end(migration, records.CANCELLED if cancelled else records.ERROR, str(exc))
            return
        selection, data = chosen
        try:
            self._migrate(server, migration, selection, data)
        except Exception as exc:  # after the guest moved or while undoing: never hang
            LOG.exception("migration %s: unexpected failure", migration_id)
            self._end(migration, records.ERROR, f"{type(exc).__name__}: {exc}")

    def _choose_destination(
        self,
        server: servers.Server,
        migration: records.Migration,
        host: str | None,
        block_migration: bool | str,
    ) -> tuple[Selection, LibvirtLiveMigrateData]:
        """The first candidate that passes both checks and takes the claim."""
        assert server.host is not None
        source = server.host
        instance_dir = self._agents.live_migration_instance_dir(source, server.uuid)
        refusals: list[tuple[str, str]] = []
        for selection in self._candidates(server, migration, host, refusals):
            self._check_cancelled(migration.id)
            data = LibvirtLiveMigrateData(
                migration_uuid=migration.uuid,
                instance_uuid=server.uuid,
                source_host=source,
                dest_host=selection.host,
                instance_dir=instance_dir,
            )
            try:
                data = self._agents.check_can_live_migrate_destination(
                    selection.host, data, block_migration
                )
                data.is_shared_instance_path = self._shared_storage(data)
                data.block_migration = resolve_block_migration(
                    block_migration, data.is_shared_instance_path
                )
                data = self._agents.check_can_live_migrate_source(source, data)
                data = self._claim_mdevs(data, selection)  # mdev guests: pin check + claim
            except errors.VirtfleetError as exc:
                LOG.info("migration %s: %s refused: %s", migration.id, selection.host, exc)
                refusals.append((selection.host, exc.message))
                continue
            try:
                claimed = self._scheduler.claim(self._spec(server, migration, host), selection)
            except errors.Conflict as exc:
                self._release_mdevs(data)
                refusals.append((selection.host, f"lost the claim to a concurrent request ({exc})"))
                continue
            return claimed, data
        raise AssertionError("unreachable: _candidates raises when it runs out")

    def _claim_mdevs(
        self, data: LibvirtLiveMigrateData, selection: Selection
    ) -> LibvirtLiveMigrateData:
        """A guest with mdevs: refuse a destination pinned below mdev support, else
        have it claim same-type mdevs now (a refusal moves on to the next host)."""
        if not data.has_mdevs:
            return data
        refusal = mdev_policy.pinned_refusal(self._conf, data)
        if refusal:
            raise errors.InvalidInput(refusal)
        return self._agents.claim_live_migration_mdevs(
            data.dest_host,
            data,
            allocations={rp: dict(r) for rp, r in selection.allocation_request.items()},
        )

    def _release_mdevs(self, data: LibvirtLiveMigrateData) -> None:
        if data.has_mdevs:
            with contextlib.suppress(errors.VirtfleetError):
                self._agents.release_live_migration_mdevs(data.dest_host, data)

    def _candidates(
        self,
        server: servers.Server,
        migration: records.Migration,
        host: str | None,
        refusals: list[tuple[str, str]],
    ) -> Iterator[Selection]:
        """Candidates best first, asking the scheduler again (without the refused
        hosts) until it has none or ``[scheduler] max_attempts`` hosts were refused;
        then NoValidHost naming every refusal."""
        max_attempts = self._conf.scheduler.max_attempts if host is None else 1
        while True:
            refused = frozenset(h for h, _ in refusals)
            if len(refusals) >= max_attempts:
                raise errors.NoValidHost(policy.refusal_message(server.uuid, refusals, None))
            spec = self._spec(server, migration, host, refused)
            try:
                selections = self._scheduler.select_destinations(spec, max_results=max_attempts)
            except errors.NoValidHost as exc:
                raise errors.NoValidHost(
                    policy.refusal_message(server.uuid, refusals, exc.message)
                ) from exc
            fresh = [s for s in selections if s.host not in refused]
            if not fresh:
                raise errors.NoValidHost(policy.refusal_message(server.uuid, refusals, None))
            for selection in fresh:
                if len(refusals) >= max_attempts:
                    break
                yield selection

    def _spec(
        self,
        server: servers.Server,
        migration: records.Migration,
        host: str | None,
        refused: frozenset[str] = frozenset(),
    ) -> RequestSpec:
        """The boot request of the server, held by the migration (its uuid is the
        placement consumer), never on the source."""
        assert server.host is not None
        base = boot.request_spec(server, refused | {server.host})
        return RequestSpec(
            instance_uuid=migration.uuid,
            project_id=base.project_id,
            user_id=base.user_id,
            flavor=base.flavor,
            image_properties=base.image_properties,
            guest=base.guest,
            ignore_hosts=base.ignore_hosts,
            requested_host=host,
        )

    def _migrate(
        self,
        server: servers.Server,
        migration: records.Migration,
        selection: Selection,
        data: LibvirtLiveMigrateData,
    ) -> None:
        source, dest = data.source_host, data.dest_host
        node = hosts.get_host_by_uuid(self._db, selection.compute_node_uuid)
        records.update(
            self._db,
            migration.id,
            dest_compute=dest,
            dest_host=dest,
            dest_node=node.hypervisor_hostname,
        )
        try:
            data = self._agents.pre_live_migration(dest, data)
            self._check_cancelled(migration.id)
            records.update(self._db, migration.id, status=records.RUNNING)
            self._copy(migration, data)
        except (errors.VirtfleetError, policy.MigrationCancelled) as exc:
            if self._landed(source, dest, server.uuid):
                LOG.warning(
                    "migration %s: %s, but the guest runs on %s: completing",
                    migration.id,
                    exc,
                    dest,
                )
            else:
                self._rollback(migration, data, exc)
                return
        self._post(server, migration, data, node.hypervisor_hostname)

    def _copy(self, migration: records.Migration, data: LibvirtLiveMigrateData) -> None:
        """Run ``live_migrate`` on the source; meanwhile record progress, keep the
        server's task alive, and abort on cancel or timeout."""
        conf = self._conf.libvirt
        timeout = float(conf.live_migration_timeout)
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(1, "live-migrate") as pool:
            agents = self._agents.with_timeout(timeout + self._conf.rpc_response_timeout)
            future = pool.submit(agents.live_migrate, data.source_host, data)
            aborted = False
            while True:
                try:
                    future.result(timeout=conf.live_migration_progress_interval)
                    return
                except concurrent.futures.TimeoutError:
                    pass
                self._record_progress(migration, data)
                late = policy.should_abort_for_time(time.monotonic() - started, timeout)
                if not aborted and (late or self._is_cancelled(migration.id)):
                    aborted = True
                    LOG.warning(
                        "migration %s: aborting (%s)",
                        migration.id,
                        "timeout" if late else "cancelled",
                    )
                    try:
                        self._agents.live_migration_abort(data.source_host, data.instance_uuid)
                    except errors.VirtfleetError as exc:
                        LOG.warning("migration %s: abort failed: %s", migration.id, exc)

    def _record_progress(self, migration: records.Migration, data: LibvirtLiveMigrateData) -> None:
        try:
            progress = self._agents.live_migration_progress(data.source_host, data.instance_uuid)
            records.update(self._db, migration.id, **policy.progress_fields(progress.as_dict()))
            servers.update(self._db, data.instance_uuid, task_state=MIGRATING)
        except errors.VirtfleetError as exc:
            LOG.debug("migration %s: no progress: %s", migration.id, exc)

    def _landed(self, source: str, dest: str, uuid: str) -> bool:
        """Whether the guest already runs on the destination and left the source
        (e.g. the reply of a migration that worked was lost)."""
        try:
            if self._agents.get_power_state(dest, uuid) != "running":
                return False
        except errors.VirtfleetError:
            return False
        try:
            self._agents.get_power_state(source, uuid)
        except errors.NotFound:
            return True
        except errors.VirtfleetError:
            return False
        return False

    def _post(
        self,
        server: servers.Server,
        migration: records.Migration,
        data: LibvirtLiveMigrateData,
        dest_node: str,
    ) -> None:
        """The guest runs on the destination: move the allocation, the server and the
        record there, then let both agents clean up."""
        uuid, dest = server.uuid, data.dest_host
        try:
            self._agents.post_live_migration_at_destination(dest, data)
        except errors.VirtfleetError as exc:
            LOG.warning("migration %s: post at %s failed: %s", migration.id, dest, exc)
        self._move_allocation(server, migration)
        current = records.get(self._db, migration.id)
        records.update(
            self._db,
            migration.id,
            status=records.COMPLETED,
            memory_processed=current.memory_total or current.memory_processed,
            memory_remaining=0,
            disk_remaining=0,
        )
        servers.update(
            self._db,
            uuid,
            host=dest,
            node=dest_node,
            task_state=None,
            power_state=int(st.PowerState.RUNNING),
        )
        try:
            self._agents.post_live_migration_at_source(data.source_host, data)
        except errors.VirtfleetError as exc:
            LOG.warning(
                "migration %s: cleanup at %s failed: %s", migration.id, data.source_host, exc
            )

    def _move_allocation(self, server: servers.Server, migration: records.Migration) -> None:
        """One write: the instance holds what the migration held; the migration nothing.
        A migration that holds nothing (never claimed) leaves the instance's as it is."""
        for _ in range(5):
            held = self._placement.get_consumer_allocations(migration.uuid)
            if not held.allocations:
                LOG.error(
                    "migration %s holds no allocation: %s keeps its own", migration.id, server.uuid
                )
                return
            own = self._placement.get_consumer_allocations(server.uuid)
            moved = {rp: dict(alloc.resources) for rp, alloc in held.allocations.items()}
            try:
                self._placement.replace_many(
                    {
                        server.uuid: ConsumerRequest(
                            moved, server.project_id, server.user_id, own.consumer_generation
                        ),
                        migration.uuid: ConsumerRequest(
                            {}, server.project_id, server.user_id, held.consumer_generation
                        ),
                    }
                )
                return
            except errors.ConcurrentUpdate:
                continue
        raise errors.Conflict(f"could not move the allocation of {server.uuid}: kept changing")

    def _rollback(
        self, migration: records.Migration, data: LibvirtLiveMigrateData, exc: BaseException
    ) -> None:
        """Undo at the destination, release the migration's claim, end the task."""
        LOG.warning("migration %s of %s failed: %s", migration.id, data.instance_uuid, exc)
        try:
            self._agents.rollback_live_migration_at_destination(data.dest_host, data)
        except errors.VirtfleetError as rollback_exc:
            LOG.error(
                "migration %s: rollback at %s failed: %s",
                migration.id,
                data.dest_host,
                rollback_exc,
            )
        status = policy.failure_status(exc, self._is_cancelled(migration.id))
        self._end(migration, status, str(exc))

    def _end(self, migration: records.Migration, status: str, message: str) -> None:
        """Release the migration's claim and finish the record and the server's task
        (the guest stays where it was)."""
        self._scheduler.unclaim(migration.uuid)
        records.update(self._db, migration.id, status=status, error=message)
        with self._lock:
            self._cancelled.discard(migration.id)
        try:
            servers.update(self._db, migration.instance_uuid, task_state=None)
        except errors.NotFound:
            return
        LOG.info("migration %s ended %s: %s", migration.id, status, message)

    # ------------------------------------------------------------------ recovery

    def orphans(self) -> list[records.Migration]:
        """Migrations in a non-final state whose workflow died, oldest first: owned by
        no live server (a dead server's, or from before owners were recorded) and
        driven by no workflow of this process. A live server's migrations are never
        orphans."""
        with self._lock:
            active = set(self._active)
        found = records.list_migrations(
            self._db, in_progress=True, migration_type=records.LIVE_MIGRATION
        )
        candidates = [m for m in reversed(found) if m.id not in active and m.owner != self._owner]
        if not any(m.owner is not None for m in candidates):
            return candidates
        alive = self._alive()
        return [m for m in candidates if m.owner is None or m.owner not in alive]

    def in_progress(self, instance_uuid: str) -> bool:
        """Whether the server has a migration record in a non-final state."""
        return bool(
            records.list_migrations(self._db, instance_uuid=instance_uuid, in_progress=True)
        )

    def settle_completed(self, instance_uuid: str) -> bool:
        """A server still ``migrating`` whose last migration is already ``completed``
        (the control plane stopped between the two writes): put it on the destination
        and end its task. Returns whether it did."""
        found = records.list_migrations(self._db, instance_uuid=instance_uuid)
        if not found or found[0].status != records.COMPLETED or not found[0].dest_compute:
            return False
        last = found[0]
        server = servers.get(self._db, instance_uuid)
        if server.host == last.source_compute:
            LOG.warning("migration %s had completed: %s moves to %s", last.id, instance_uuid,
                        last.dest_compute)  # fmt: skip
            servers.update(
                self._db,
                instance_uuid,
                host=last.dest_compute,
                node=last.dest_node or last.dest_compute,
                power_state=int(st.PowerState.RUNNING),
            )
        servers.update(self._db, instance_uuid, task_state=None)
        return True

    def recover(self, migration_id: int) -> str:
        """Finish or roll back an orphaned migration after asking both agents where
        the guest is; returns the action (``wait`` when it must be asked again later).
        The caller holds the server's lock."""
        migration = records.get(self._db, migration_id)
        with self._lock:
            if not migration.in_progress or migration.id in self._active:
                return recovery.WAIT
        source, dest = migration.source_compute, migration.dest_compute
        if not source:
            self._end(migration, records.ERROR, recovery.outcome_message(recovery.LOST, "?", dest))
            return recovery.LOST
        uuid = migration.instance_uuid
        action = recovery.decide(
            self._whereabouts(source, uuid),
            self._whereabouts(dest, uuid) if dest else recovery.ABSENT,
        )
        if action == recovery.WAIT:
            LOG.info("migration %s of %s was interrupted: waiting for it", migration.id, uuid)
            return action
        if self._owner is not None and not records.take_over(
            self._db, migration.id, migration.owner, self._owner
        ):
            return recovery.WAIT  # another server took it over first
        LOG.warning("migration %s of %s was interrupted: %s", migration.id, uuid, action)
        try:
            server = servers.get(self._db, uuid)
        except errors.NotFound:
            self._end(migration, records.ERROR, "the server was deleted")
            return recovery.LOST
        if action == recovery.LOST:
            self._end(migration, records.ERROR, recovery.outcome_message(action, source, dest))
            return action
        try:
            data = self._recovered_data(migration, source, dest)
        except errors.VirtfleetError as exc:
            LOG.warning("migration %s: cannot recover yet: %s", migration.id, exc)
            return recovery.WAIT
        if action == recovery.FINISH:
            assert dest is not None
            self._post(server, migration, data, migration.dest_node or dest)
        else:
            if dest:
                try:
                    self._agents.rollback_live_migration_at_destination(dest, data)
                except errors.VirtfleetError as exc:
                    LOG.warning("migration %s: rollback at %s: %s", migration.id, dest, exc)
                    return recovery.WAIT
            self._end(migration, records.ERROR, recovery.outcome_message(action, source, dest))
        return action

    def _whereabouts(self, host: str, instance_uuid: str) -> recovery.Whereabouts:
        try:
            found = self._agents.live_migration_whereabouts(host, instance_uuid)
        except errors.VirtfleetError as exc:
            LOG.info("host %s cannot say where %s is: %s", host, instance_uuid, exc)
            return recovery.UNREACHABLE
        return recovery.Whereabouts(found.state, found.job_active)

    def _recovered_data(
        self, migration: records.Migration, source: str, dest: str | None
    ) -> LibvirtLiveMigrateData:
        """The migration's data as far as the post/rollback steps need it: the guest's
        directories on both sides and whether they share storage (asked again)."""
        data = LibvirtLiveMigrateData(
            migration_uuid=migration.uuid,
            instance_uuid=migration.instance_uuid,
            source_host=source,
            dest_host=dest or source,
            instance_dir=self._agents.live_migration_instance_dir(source, migration.instance_uuid),
        )
        if dest:
            data.is_shared_instance_path = self._shared_storage(data)
            data.block_migration = not data.is_shared_instance_path  # what auto chose
        return data

    def _shared_storage(self, data: LibvirtLiveMigrateData) -> bool:
        """Whether source and destination share the instances path: the destination
        writes a test file there and the source looks for it in its own."""
        name = self._agents.create_shared_storage_test_file(data.dest_host)
        try:
            return self._agents.check_shared_storage_test_file(data.source_host, name)
        finally:
            try:
                self._agents.cleanup_shared_storage_test_file(data.dest_host, name)
            except errors.VirtfleetError as exc:
                LOG.warning("test file %s left on %s: %s", name, data.dest_host, exc)

    # ------------------------------------------------------------------ helpers

    def _is_cancelled(self, migration_id: int) -> bool:
        with self._lock:
            return migration_id in self._cancelled

    def _check_cancelled(self, migration_id: int) -> None:
        if self._is_cancelled(migration_id):
            raise policy.MigrationCancelled(f"migration {migration_id} was aborted")
