"""Evacuations as the Compute API starts them (``evacuate``) and as the dead source's
agent ends them when it returns (Nova's ``_destroy_evacuated_instances``).

:class:`Evacuations` records a queued ``evacuation`` migration and runs an
:class:`~virtfleet.conductor.moves.evacuate_flow.EvacuationFlow` through
:func:`~virtfleet.conductor.moves.runner.run_move` in the background. A move that
worked ends ``done``: the server runs on the destination, the migration still holds
the source's allocation. When the source's agent comes back it asks
:meth:`Evacuations.evacuated_from` which guests it must not start again, removes
their domains (and their disks, unless the destination shares them), and reports
:meth:`Evacuations.source_cleaned`: the migration's allocation goes and the record
ends ``completed``.
"""

from __future__ import annotations

import logging

from oslo_config import cfg

from virtfleet import errors
from virtfleet.conductor import boot
from virtfleet.conductor.moves import claim, evacuate_flow, runner
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
from virtfleet.objects.rpc_results import EvacuatedGuest
from virtfleet.rpc import Transport

LOG = logging.getLogger(__name__)

#: Evacuations whose source may still hold the guest: its agent removes it on return
#: (in progress ones too, as Nova does: the guest is being rebuilt elsewhere).
SOURCE_TO_CLEAN = frozenset({records.QUEUED, records.PREPARING, records.RUNNING, records.DONE})


class Evacuations:
    """Starts and runs evacuations; ends them once their source is clean."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: Database,
        placement: MigrationPlacement,
        scheduler: MigrationScheduler,
        transport: Transport,
        submit: Submit,
        images: boot.Images,
        owner: str | None = None,
        networks: ServerPorts | None = None,
    ) -> None:
        self._svc = Services.build(conf, db, placement, scheduler, transport, networks)
        self._submit = submit
        self._images = images
        self._owner = owner
        self._tracker = MoveTracker()
        records.ensure_table(db)

    def start(
        self,
        instance_uuid: str,
        host: str | None,
        stop: bool = False,
        on_shared_storage: bool | None = None,
    ) -> records.Migration:
        """Record a queued evacuation and run it in the background (to ``host``, else
        the scheduler's choice; ``stop``: the guest lands stopped; ``on_shared_storage``:
        the caller's word before 2.14, None: the destination decides). The caller has
        checked the source is down and set the server's task (``evacuate``)."""
        db = self._svc.db
        server = servers.get(db, instance_uuid)
        if not server.host:
            raise errors.Conflict(f"Server {instance_uuid} is not on any host.")
        stopped = evacuate_flow.lands_stopped(server, stop)
        migration = records.create(
            db,
            instance_uuid=instance_uuid,
            source_compute=server.host,
            source_node=server.node,
            dest_compute=host,
            project_id=server.project_id,
            user_id=server.user_id,
            owner=self._owner,
            migration_type=records.EVACUATION,
        )

        def work(uuid: str) -> None:
            self.run(migration.id, host, stopped, on_shared_storage)

        self._tracker.begin(migration.id)
        self._submit(instance_uuid, work, "evacuation")
        return migration

    def run(
        self,
        migration_id: int,
        host: str | None,
        stopped: bool,
        on_shared_storage: bool | None = None,
    ) -> None:
        """The whole evacuation; every outcome ends the server's task and the record."""
        self._tracker.begin(migration_id)
        try:
            move = load_move(self._svc.db, migration_id, host)
            if move is None:
                return
            flow = evacuate_flow.EvacuationFlow(
                self._svc, move, self._images, stopped, on_shared_storage
            )
            runner.run_move(flow, self._svc, self._tracker)
        finally:
            self._tracker.done(migration_id)

    # ------------------------------------------------------------------ the source's return

    def evacuated_from(self, host: str) -> list[EvacuatedGuest]:
        """The guests evacuated from ``host`` that it must remove, not start."""
        if not host:
            raise errors.InvalidInput("the evacuated guests of a host need its name")
        found = records.list_migrations(self._svc.db, host=host, migration_type=records.EVACUATION)
        return [
            EvacuatedGuest(
                migration_uuid=m.uuid,
                instance_uuid=m.instance_uuid,
                dest_host=m.dest_compute,
            )
            for m in found
            if m.source_compute == host and m.status in SOURCE_TO_CLEAN
        ]

    def source_cleaned(self, host: str, migration_uuids: list[str]) -> list[str]:
        """``host`` removed the guests of these evacuations: those that are ``done``
        free their source allocation and end ``completed``; returns their uuids."""
        wanted = set(migration_uuids)
        ended: list[str] = []
        for migration in records.list_migrations(
            self._svc.db, host=host, migration_type=records.EVACUATION, status=records.DONE
        ):
            if migration.uuid not in wanted or migration.source_compute != host:
                continue
            claim.release(self._svc.scheduler, migration)
            records.update(self._svc.db, migration.id, status=records.COMPLETED)
            LOG.info("evacuation %s of %s: %s cleaned, its allocation freed",
                     migration.id, migration.instance_uuid, host)  # fmt: skip
            ended.append(migration.uuid)
        return ended

    def forget_server(self, instance_uuid: str) -> None:
        """The server is being deleted: its evacuations waiting for their source free
        the source's allocation now (the record stays ``done``, so the source still
        removes the guest when it returns)."""
        for migration in records.list_migrations(
            self._svc.db,
            instance_uuid=instance_uuid,
            migration_type=records.EVACUATION,
            status=records.DONE,
        ):
            claim.release(self._svc.scheduler, migration)
