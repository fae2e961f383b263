"""Live migrations as the Compute API drives them (``os-migrateLive``, abort, force
complete) and as the watchdog recovers them.

:class:`LiveMigrations` records a queued migration and runs a
:class:`~virtfleet.conductor.moves.live_flow.LiveMigrationFlow` through
:func:`~virtfleet.conductor.moves.runner.run_move` in the background; abort and force
complete reach the running one; recovery is :class:`~virtfleet.conductor.moves.recovery.Recovery`'s.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from oslo_config import cfg

from virtfleet import errors
from virtfleet.conductor.moves import recovery, runner
from virtfleet.conductor.moves.live_flow import LiveMigrationFlow
from virtfleet.conductor.moves.move import load as load_move
from virtfleet.conductor.moves.services import (
    MigrationPlacement,
    MigrationScheduler,
    Services,
    Submit,
)
from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.network.server_ports import ServerPorts
from virtfleet.rpc import Transport

LOG = logging.getLogger(__name__)


class LiveMigrations:
    """Starts, runs, aborts, force-completes and recovers live migrations."""

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
        networks: ServerPorts | None = None,
    ) -> None:
        self._conf = conf
        self._owner = owner  # the control server this process is (records' owner)
        self._svc = Services.build(conf, db, placement, scheduler, transport, networks)
        self._submit = submit
        self._tracker = MoveTracker()
        self._recovery = recovery.Recovery(self._svc, self._tracker, owner, alive)
        records.ensure_table(db)

    # ------------------------------------------------------------------ API side

    def start(
        self, instance_uuid: str, host: str | None, block_migration: bool | str, force: bool
    ) -> records.Migration:
        """Record a queued migration and run it in the background. The caller has set
        the server's task_state to ``migrating`` (transition ``live_migrate``)."""
        db = self._svc.db
        server = servers.get(db, instance_uuid)
        if not server.host:
            raise errors.Conflict(f"Server {instance_uuid} is not on any host.")
        migration = records.create(
            db,
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

        self._tracker.begin(migration.id)
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
        self._tracker.cancel(migration.id)
        if migration.status == records.RUNNING and migration.source_compute:
            # no job (yet, or any longer) is a Conflict: the flag stops it then
            with contextlib.suppress(errors.Conflict):
                self._svc.agents.live_migration_abort(migration.source_compute, instance_uuid)

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
            self._svc.agents.live_migration_force_complete(migration.source_compute, instance_uuid)
        except (errors.NotFound, errors.Conflict) as exc:  # no job, or the guest left
            raise errors.Conflict(
                f"Migration {migration_id} cannot be forced to complete: {exc.message}"
            ) from exc
        LOG.info("migration %s of %s: forced to complete", migration_id, instance_uuid)

    def _own(self, instance_uuid: str, migration_id: int) -> records.Migration:
        migration = records.get(self._svc.db, migration_id)
        if migration.instance_uuid != instance_uuid:
            raise errors.NotFound(
                f"Migration {migration_id} is not a migration of server {instance_uuid}."
            )
        return migration

    # ------------------------------------------------------------------ workflow

    def run(self, migration_id: int, host: str | None, block_migration: bool | str) -> None:
        """The whole migration; every outcome ends the server's task and the record."""
        self._tracker.begin(migration_id)
        try:
            move = load_move(self._svc.db, migration_id, host)
            if move is None:
                return
            live = LiveMigrationFlow(self._svc, self._tracker, move, block_migration)
            runner.run_move(live, self._svc, self._tracker)
        finally:
            self._tracker.done(migration_id)

    # ------------------------------------------------------------------ recovery

    def orphans(self) -> list[records.Migration]:
        """See :meth:`.recovery.Recovery.orphans`."""
        return self._recovery.orphans()

    def in_progress(self, instance_uuid: str) -> bool:
        """See :meth:`.recovery.Recovery.in_progress`."""
        return self._recovery.in_progress(instance_uuid)

    def settle_completed(self, instance_uuid: str) -> bool:
        """See :meth:`.recovery.Recovery.settle_completed`."""
        return self._recovery.settle_completed(instance_uuid)

    def recover(self, migration_id: int) -> str:
        """See :meth:`.recovery.Recovery.recover`."""
        return self._recovery.recover(migration_id)
