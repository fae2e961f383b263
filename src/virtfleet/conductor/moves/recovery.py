"""Recovery of live migrations whose workflow died with its control plane: the
decision (:func:`decide`, pure) and :class:`Recovery`, which asks the agents, then
finishes or rolls back with the shared steps.

A migration record in a non-final state that no workflow of the running conductor
drives is an *orphan*. The agents are asked where the guest's domain is and whether the
source still runs a migration job for it; :func:`decide` turns the answers into one of

- ``wait``: an agent cannot be reached, or libvirt's job still runs (ask again later);
- ``finish``: the guest runs on the destination and left the source, so the
  post-migration steps are done (claims released, allocation moved, host updated);
- ``rollback``: the guest is still on the source, so everything the migration took on
  the destination (domain, unshared files, mdev claims, allocation) is released;
- ``lost``: no host has the guest; the migration ends in error and its own claim is
  released, the server is left as it was for the operator.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from virtfleet import errors
from virtfleet.conductor.moves import finish, storage
from virtfleet.conductor.moves.live_flow import LiveMigrationFlow
from virtfleet.conductor.moves.move import Move
from virtfleet.conductor.moves.services import Services
from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.servers import states as st

LOG = logging.getLogger(__name__)

WAIT, FINISH, ROLLBACK, LOST = "wait", "finish", "rollback", "lost"
RUNNING_STATES = frozenset({"running", "blocked"})

INTERRUPTED = "the control plane stopped during the migration"


@dataclasses.dataclass(frozen=True)
class Whereabouts:
    """What one host says about the guest: its domain's power state (None: no domain
    there), whether a migration job of it runs, or that the host did not answer."""

    state: str | None = None
    job_active: bool = False
    reachable: bool = True

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES


UNREACHABLE = Whereabouts(reachable=False)
ABSENT = Whereabouts()


def decide(source: Whereabouts, destination: Whereabouts) -> str:
    """``wait``, ``finish``, ``rollback`` or ``lost`` (see the module docstring).
    ``destination`` is :data:`ABSENT` when the migration never chose one."""
    if not source.reachable or not destination.reachable:
        return WAIT
    if source.job_active or destination.job_active:
        return WAIT
    if destination.running and source.state in (None, "shutoff", "shutdown"):
        return FINISH
    if source.state is not None:
        # running again, or paused by a migration that ended: libvirt resumes it on
        # failure; a guest still paused is the operator's, not ours, to resume
        return ROLLBACK if not destination.running else WAIT
    if destination.state is not None:
        return WAIT  # defined there but not running: libvirt's finish still pending
    return LOST


def outcome_message(action: str, source: str, destination: str | None) -> str:
    """The record's error text for a recovered migration."""
    if action == FINISH:
        return f"{INTERRUPTED}; the guest had reached {destination}: completed on recovery"
    if action == ROLLBACK:
        return f"{INTERRUPTED}; the guest was still on {source}: rolled back on recovery"
    return (
        f"{INTERRUPTED}; the guest was found on neither {source} nor "
        f"{destination or 'any destination'}"
    )


class Recovery:
    """Finds orphaned migrations and finishes or rolls them back."""

    def __init__(
        self,
        svc: Services,
        tracker: MoveTracker,
        owner: str | None = None,
        alive: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        self._svc = svc
        self._tracker = tracker
        self._owner = owner  # the control server this process is (records' owner)
        self._alive = alive or (lambda: frozenset())

    def orphans(self) -> list[records.Migration]:
        """Migrations in a non-final state whose workflow died, oldest first: owned by
        no live server (a dead server's, or from before owners were recorded) and
        driven by no workflow of this process. A live server's migrations are never
        orphans."""
        active = self._tracker.active()
        found = records.list_migrations(
            self._svc.db, in_progress=True, migration_type=records.LIVE_MIGRATION
        )
        candidates = [m for m in reversed(found) if m.id not in active and m.owner != self._owner]
        if not any(m.owner is not None for m in candidates):
            return candidates
        alive = self._alive()
        return [m for m in candidates if m.owner is None or m.owner not in alive]

    def in_progress(self, instance_uuid: str) -> bool:
        """Whether the server has a migration record in a non-final state."""
        return bool(
            records.list_migrations(self._svc.db, instance_uuid=instance_uuid, in_progress=True)
        )

    def settle_completed(self, instance_uuid: str) -> bool:
        """A server still ``migrating`` whose last migration is already ``completed``
        (the control plane stopped between the two writes): put it on the destination
        and end its task. Returns whether it did."""
        db = self._svc.db
        found = records.list_migrations(db, instance_uuid=instance_uuid)
        if not found or found[0].status != records.COMPLETED or not found[0].dest_compute:
            return False
        last = found[0]
        server = servers.get(db, instance_uuid)
        if server.host == last.source_compute:
            LOG.warning("migration %s had completed: %s moves to %s", last.id, instance_uuid,
                        last.dest_compute)  # fmt: skip
            finish.settle(
                db,
                instance_uuid,
                host=last.dest_compute,
                node=last.dest_node or last.dest_compute,
                power_state=int(st.PowerState.RUNNING),
            )
        else:
            finish.settle(db, instance_uuid)
        return True

    def recover(self, migration_id: int) -> str:
        """Finish or roll back an orphaned migration after asking both agents where
        the guest is; returns the action (``wait`` when it must be asked again later).
        The caller holds the server's lock."""
        svc, tracker = self._svc, self._tracker
        migration = records.get(svc.db, migration_id)
        if not migration.in_progress or tracker.is_active(migration.id):
            return WAIT
        source, dest = migration.source_compute, migration.dest_compute
        if not source:
            finish.end(svc, tracker, migration, records.ERROR, outcome_message(LOST, "?", dest))
            return LOST
        uuid = migration.instance_uuid
        action = decide(
            self._whereabouts(source, uuid),
            self._whereabouts(dest, uuid) if dest else ABSENT,
        )
        if action == WAIT:
            LOG.info("migration %s of %s was interrupted: waiting for it", migration.id, uuid)
            return action
        if self._owner is not None and not records.take_over(
            svc.db, migration.id, migration.owner, self._owner
        ):
            return WAIT  # another server took it over first
        LOG.warning("migration %s of %s was interrupted: %s", migration.id, uuid, action)
        try:
            server = servers.get(svc.db, uuid)
        except errors.NotFound:
            finish.end(svc, tracker, migration, records.ERROR, "the server was deleted")
            return LOST
        if action == LOST:
            finish.end(
                svc, tracker, migration, records.ERROR, outcome_message(action, source, dest)
            )
            return action
        try:
            data = self._recovered_data(migration, source, dest)
        except errors.VirtfleetError as exc:
            LOG.warning("migration %s: cannot recover yet: %s", migration.id, exc)
            return WAIT
        if action == FINISH:
            assert dest is not None
            flow = LiveMigrationFlow(svc, tracker, Move(migration, server))
            finish.complete(flow, svc, data, dest, migration.dest_node or dest)
        else:
            if dest:
                try:
                    svc.agents.rollback_live_migration_at_destination(dest, data)
                except errors.VirtfleetError as exc:
                    LOG.warning("migration %s: rollback at %s: %s", migration.id, dest, exc)
                    return WAIT
            finish.end(
                svc, tracker, migration, records.ERROR, outcome_message(action, source, dest)
            )
        return action

    def _whereabouts(self, host: str, instance_uuid: str) -> Whereabouts:
        try:
            found = self._svc.agents.live_migration_whereabouts(host, instance_uuid)
        except errors.VirtfleetError as exc:
            LOG.info("host %s cannot say where %s is: %s", host, instance_uuid, exc)
            return UNREACHABLE
        return Whereabouts(found.state, found.job_active)

    def _recovered_data(
        self, migration: records.Migration, source: str, dest: str | None
    ) -> LibvirtLiveMigrateData:
        """The migration's data as far as the finish/roll-back steps need it: the
        guest's directories on both sides and whether they share storage (asked again)."""
        data = LibvirtLiveMigrateData(
            migration_uuid=migration.uuid,
            instance_uuid=migration.instance_uuid,
            source_host=source,
            dest_host=dest or source,
            instance_dir=self._svc.agents.live_migration_instance_dir(
                source, migration.instance_uuid
            ),
        )
        if dest:
            data.is_shared_instance_path = storage.shared_instance_path(self._svc, source, dest)
            data.block_migration = not data.is_shared_instance_path  # what auto chose
        return data
