"""Cold migrations and resizes as the Compute API drives them (``migrate``,
``resize``, ``confirmResize``, ``revertResize``) and as the watchdog confirms them.

:class:`ColdMoves` records a queued migration and runs a
:class:`~virtfleet.conductor.moves.cold_flow.ColdMigrationFlow` through
:func:`~virtfleet.conductor.moves.runner.run_move` in the background; the move lands
``finished`` (VERIFY_RESIZE) with both hosts held. Confirm drops the source (the
migration's allocation, the kept files); revert removes the guest from the
destination, starts it again on the source with its old flavor and gives the
instance its source allocation back. ``[compute] resize_confirm_window`` confirms a
move left waiting that long.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from sqlalchemy import Connection

from virtfleet import errors
from virtfleet.conductor import boot
from virtfleet.conductor.moves import claim, cold_flow, runner
from virtfleet.conductor.moves.move import Move
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
from virtfleet.db.models.compute import utcnow
from virtfleet.network.server_ports import ServerPorts
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.rpc import Transport
from virtfleet.servers import actions, service
from virtfleet.servers import states as st

LOG = logging.getLogger(__name__)

CONFIRM_EVENT = "compute_confirm_resize"
REVERT_EVENT = "compute_revert_resize"


def side(flavor: dict[str, Any], guest_request: GuestRequest) -> dict[str, Any]:
    """One side of a move as its record keeps it."""
    return {"flavor": dict(flavor), "guest_request": guest_request.to_primitive()}


class ColdMoves:
    """Starts, runs, confirms, reverts and auto-confirms cold migrations and resizes."""

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

    # ------------------------------------------------------------------ API side

    def start(
        self,
        instance_uuid: str,
        host: str | None,
        new_flavor: dict[str, Any] | None = None,
        new_guest_request: GuestRequest | None = None,
        admit: Callable[[Connection], None] | None = None,
    ) -> records.Migration:
        """Record a queued cold migration (no new flavor) or resize and run it in the
        background. The caller has set the server's task (``migrate``/``resize``);
        ``admit`` (a resize's quota check) runs in the write that records the move."""
        db = self._svc.db
        server = servers.get(db, instance_uuid)
        if not server.host:
            raise errors.Conflict(f"Server {instance_uuid} is not on any host.")
        resize = new_flavor is not None
        old = side(dict(server.flavor), server.guest_request)
        new = old
        if new_flavor is not None:
            new = side(new_flavor, new_guest_request or server.guest_request)
        migration = records.create(
            db,
            instance_uuid=instance_uuid,
            source_compute=server.host,
            source_node=server.node,
            dest_compute=host,
            project_id=server.project_id,
            user_id=server.user_id,
            owner=self._owner,
            migration_type=records.RESIZE if resize else records.MIGRATION,
            flavors={"old": old, "new": new},
            admit=admit,
        )

        def work(uuid: str) -> None:
            self.run(migration.id, host)

        self._tracker.begin(migration.id)
        self._submit(instance_uuid, work, "resize" if resize else "cold migration")
        return migration

    def waiting(self, instance_uuid: str) -> records.Migration:
        """The server's move waiting for confirm or revert; BadRequest-like
        InvalidInput ("has not been resized") when there is none."""
        found = records.list_migrations(
            self._svc.db, instance_uuid=instance_uuid, status=records.FINISHED
        )
        if not found:
            raise errors.InvalidInput(f"Instance {instance_uuid} has not been resized.")
        return found[0]

    def confirm(self, instance_uuid: str) -> None:
        """Confirm in the background (the caller set task ``resize_confirming``)."""
        migration = self.waiting(instance_uuid)
        self._submit(instance_uuid, self._confirm_job(migration.id), "confirm resize")

    def _confirm_job(self, migration_id: int) -> Callable[[str], None]:
        def job(uuid: str) -> None:
            self.run_confirm(migration_id)

        return job

    def revert(self, instance_uuid: str) -> None:
        """Revert in the background (the caller set task ``resize_reverting``)."""
        migration = self.waiting(instance_uuid)
        records.update(self._svc.db, migration.id, status=records.REVERTING)
        self._submit(instance_uuid, lambda _: self.run_revert(migration.id), "revert resize")

    # ------------------------------------------------------------------ workflows

    def run(self, migration_id: int, host: str | None) -> None:
        """The whole move; every outcome ends the server's task and the record."""
        self._tracker.begin(migration_id)
        try:
            move = load_move(self._svc.db, migration_id, host)
            if move is None:
                return
            flow = cold_flow.ColdMigrationFlow(self._svc, self._tracker, move, self._images)
            runner.run_move(flow, self._svc, self._tracker)
        finally:
            self._tracker.done(migration_id)

    def run_confirm(self, migration_id: int) -> None:
        """Drop the source: the migration's allocation, then the kept files; the server
        ends ACTIVE or SHUTOFF as its guest is."""
        svc = self._svc
        migration = records.get(svc.db, migration_id)
        uuid = migration.instance_uuid
        action = actions.CONFIRM_RESIZE
        with actions.event(svc.db, uuid, action, CONFIRM_EVENT, migration.source_compute) as step:
            records.update(svc.db, migration.id, status=records.CONFIRMING)
            claim.confirm(svc.scheduler, migration)
            problem = self._clean_source(migration)
            records.update(svc.db, migration.id, status=records.CONFIRMED, error=problem)
            if problem:
                step.fail(problem)
            self._settle(uuid, "resize_confirmed")

    def _clean_source(self, migration: records.Migration) -> str | None:
        """Remove the files the source kept; why not, when it could not."""
        source = migration.source_compute
        kept = str((migration.flavors or {}).get("kept") or "")
        if not source or not kept:
            return None
        try:
            self._svc.agents.confirm_resize(source, kept)
        except errors.VirtfleetError as exc:
            LOG.warning("migration %s: kept files left on %s: %s", migration.id, source, exc)
            return f"the kept files {kept} could not be removed from {source}: {exc}"
        return None

    def run_revert(self, migration_id: int) -> None:
        """Remove the guest from the destination, start it again on the source with its
        old flavor, give the instance its source allocation back; a source that
        cannot start it leaves the server ERROR with the reason."""
        svc = self._svc
        migration = records.get(svc.db, migration_id)
        uuid = migration.instance_uuid
        try:
            server = servers.get(svc.db, uuid)
        except errors.NotFound:
            return
        source = migration.source_compute
        assert source is not None
        running = server.power_state == int(st.PowerState.RUNNING)
        with actions.event(svc.db, uuid, actions.REVERT_RESIZE, REVERT_EVENT, source) as step:
            self._destroy_destination(migration, server)  # on the same host too
            kept = str((migration.flavors or {}).get("kept") or "")
            move = Move(migration, server)
            try:
                cold_flow.restore(svc, _at_source(move), self._images, kept, running)
            except errors.VirtfleetError as exc:
                message = f"Revert of {uuid} failed: the guest could not start on {source}: {exc}"
                step.fail(message)
                claim.give_back(svc.placement, migration)
                records.update(svc.db, migration.id, status=records.ERROR, error=message)
                old = (migration.flavors or {}).get("old") or {}
                self._settle(
                    uuid,
                    "resize_step_failed",
                    host=source,
                    node=migration.source_node,
                    fault=servers.fault(message),
                    **_flavor_fields(old),
                )
                return
            claim.give_back(svc.placement, migration)
            records.update(svc.db, migration.id, status=records.REVERTED)
            old = (migration.flavors or {}).get("old") or {}
            power = st.PowerState.RUNNING if running else st.PowerState.SHUTDOWN
            self._settle(
                uuid,
                "resize_reverted",
                host=source,
                node=migration.source_node,
                power_state=int(power),
                **_flavor_fields(old),
            )

    def _destroy_destination(self, migration: records.Migration, server: servers.Server) -> None:
        dest = migration.dest_compute or server.host
        if not dest:
            return
        try:
            self._svc.agents.destroy(dest, server.uuid)
        except errors.NotFound:
            pass
        except errors.VirtfleetError as exc:  # reaped as an orphan when the host answers
            LOG.warning("revert of %s: destroy on %s failed: %s", server.uuid, dest, exc)

    def _settle(self, uuid: str, transition: str, **fields: Any) -> None:
        """End the task with ``transition``, the vm_state as the guest's power is."""
        try:
            server = servers.get(self._svc.db, uuid)
        except errors.NotFound:
            return
        power = int(fields.get("power_state", server.power_state))
        if "vm_state" not in st.writes(transition):
            fields["vm_state"] = st.ACTIVE if power == int(st.PowerState.RUNNING) else st.STOPPED
        try:
            service.request(self._svc.db, uuid, transition, **fields)
        except service.InvalidServerState as exc:  # e.g. a delete asked for meanwhile
            LOG.info("server %s: %s", uuid, exc)

    # ------------------------------------------------------------------ periodic, delete

    def auto_confirm(self, now: datetime.datetime | None = None) -> list[int]:
        """Confirm moves waiting longer than ``[compute] resize_confirm_window``
        seconds (0: never); returns their migration ids."""
        window = int(self._svc.conf.compute.resize_confirm_window)
        if window <= 0:
            return []
        cutoff = (now or utcnow()) - datetime.timedelta(seconds=window)
        done = []
        for migration in records.list_migrations(self._svc.db, status=records.FINISHED):
            if migration.updated_at > cutoff:
                continue
            try:
                service.request(self._svc.db, migration.instance_uuid, "confirm_resize")
            except (service.InvalidServerState, errors.NotFound) as exc:
                LOG.info("migration %s not confirmed on its own: %s", migration.id, exc)
                continue
            LOG.info("migration %s waited over %ss: confirming", migration.id, window)
            self._submit(
                migration.instance_uuid, self._confirm_job(migration.id), "auto-confirm resize"
            )
            done.append(migration.id)
        return done

    def forget_server(self, instance_uuid: str) -> None:
        """The server is being deleted: its waiting moves end ``confirmed`` (their
        source allocation dropped, the kept files removed), as Nova does; files a
        failed move kept for the operator are removed."""
        for migration in records.list_migrations(self._svc.db, instance_uuid=instance_uuid):
            if migration.migration_type not in (records.MIGRATION, records.RESIZE):
                continue
            if migration.status == records.ERROR:  # files kept for the operator go now
                self._clean_source(migration)
                continue
            if migration.status not in (records.FINISHED, records.CONFIRMING, records.REVERTING):
                continue
            claim.release(self._svc.scheduler, migration)
            problem = self._clean_source(migration)
            records.update(self._svc.db, migration.id, status=records.CONFIRMED, error=problem)


def _at_source(move: Move) -> Move:
    """The move as :func:`cold_flow.restore` needs it: from its source."""
    assert move.migration.source_compute is not None
    return Move(
        move.migration, dataclasses.replace(move.server, host=move.migration.source_compute)
    )


def _flavor_fields(old: dict[str, Any]) -> dict[str, Any]:
    if not old:
        return {}
    return {
        "flavor": dict(old["flavor"]),
        "guest_request": GuestRequest.from_primitive(old["guest_request"]),
    }
