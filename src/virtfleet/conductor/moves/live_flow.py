"""Live migration as a :class:`~virtfleet.conductor.moves.flow.MoveFlow`: its checks,
its agent calls for prepare, transfer, finish and roll back; the sequence is
:func:`~virtfleet.conductor.moves.flow.run_move`'s.

Checks of a candidate, in order: the destination's (``check_can_live_migrate_destination``),
shared storage and the block-migration choice, the source's
(``check_can_live_migrate_source``), and for a guest with mdevs the upgrade pin and
the destination's mdev claim. Any refusal moves on to the next candidate.
"""

from __future__ import annotations

import logging
from typing import Any

from virtfleet import errors
from virtfleet.conductor.moves import destination, mdev, policy, storage, transfer
from virtfleet.conductor.moves.move import Move
from virtfleet.conductor.moves.services import Services
from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.servers import states as st
from virtfleet.virt.libvirt.migration import resolve_block_migration

LOG = logging.getLogger(__name__)


class LiveMigrationFlow:
    """One live migration (``os-migrateLive``) of ``move.server``."""

    def __init__(
        self,
        svc: Services,
        tracker: MoveTracker,
        move: Move,
        block_migration: bool | str = "auto",
    ) -> None:
        self._svc = svc
        self._tracker = tracker
        self._move = move
        self._block_migration = block_migration
        self._instance_dir = ""

    @property
    def move(self) -> Move:
        return self._move

    @property
    def awaits_confirm(self) -> bool:
        return False

    def spec_for(self, refused: frozenset[str]) -> RequestSpec:
        move = self._move
        return destination.held_by_migration(
            move.server, move.migration, move.requested_host, refused
        )

    def begin(self) -> None:
        move = self._move
        self._instance_dir = self._svc.agents.live_migration_instance_dir(
            move.source, move.server.uuid
        )

    def check(self, selection: Selection) -> LibvirtLiveMigrateData:
        move = self._move
        data = LibvirtLiveMigrateData(
            migration_uuid=move.migration.uuid,
            instance_uuid=move.server.uuid,
            source_host=move.source,
            dest_host=selection.host,
            instance_dir=self._instance_dir,
        )
        data = self._svc.agents.check_can_live_migrate_destination(
            selection.host, data, self._block_migration
        )
        data.is_shared_instance_path = storage.shared_instance_path(
            self._svc, data.source_host, data.dest_host
        )
        data.block_migration = resolve_block_migration(
            self._block_migration, data.is_shared_instance_path
        )
        data = self._svc.agents.check_can_live_migrate_source(move.source, data)
        return mdev.claim(self._svc, data, selection)

    def release(self, data: LibvirtLiveMigrateData) -> None:
        mdev.release(self._svc, data)

    def prepare(self, data: LibvirtLiveMigrateData) -> LibvirtLiveMigrateData:
        """The destination prepares (and plugs the guest's ports) before it arrives."""
        if self._svc.networks is not None:
            data.vifs = self._svc.networks.vifs(data.instance_uuid)
        return self._svc.agents.pre_live_migration(data.dest_host, data)

    def transfer(self, data: LibvirtLiveMigrateData) -> None:
        transfer.live_transfer(self._svc, self._tracker, self._move.migration, data)

    def landed(self, data: LibvirtLiveMigrateData) -> bool:
        """Whether the guest already runs on the destination and left the source
        (e.g. the reply of a migration that worked was lost)."""
        uuid = data.instance_uuid
        try:
            if self._svc.agents.get_power_state(data.dest_host, uuid) != "running":
                return False
        except errors.VirtfleetError:
            return False
        try:
            self._svc.agents.get_power_state(data.source_host, uuid)
        except errors.NotFound:
            return True
        except errors.VirtfleetError:
            return False
        return False

    def roll_back(self, data: LibvirtLiveMigrateData) -> None:
        try:
            self._svc.agents.rollback_live_migration_at_destination(data.dest_host, data)
        except errors.VirtfleetError as exc:
            LOG.error(
                "migration %s: rollback at %s failed: %s",
                self._move.migration_id,
                data.dest_host,
                exc,
            )

    def failure_status(self, exc: BaseException) -> str:
        return policy.failure_status(exc, self._tracker.is_cancelled(self._move.migration_id))

    def finish_at_destination(self, data: LibvirtLiveMigrateData) -> None:
        """The guest runs on the destination: its ports' binding moves there."""
        if self._svc.networks is not None:
            self._svc.networks.bind(data.instance_uuid, data.dest_host)
            self._svc.networks.set_status(data.instance_uuid, "ACTIVE")
        try:
            self._svc.agents.post_live_migration_at_destination(data.dest_host, data)
        except errors.VirtfleetError as exc:
            LOG.warning(
                "migration %s: post at %s failed: %s", self._move.migration_id, data.dest_host, exc
            )

    def finish_at_source(self, data: LibvirtLiveMigrateData) -> None:
        try:
            self._svc.agents.post_live_migration_at_source(data.source_host, data)
        except errors.VirtfleetError as exc:
            LOG.warning(
                "migration %s: cleanup at %s failed: %s",
                self._move.migration_id,
                data.source_host,
                exc,
            )

    def arrived(self, dest: str, dest_node: str) -> dict[str, Any]:
        return {
            "host": dest,
            "node": dest_node,
            "power_state": int(st.PowerState.RUNNING),
        }
