"""The agent's part of live migration: the RPC methods the conductor calls on the
source and destination hosts, in the order it calls them:

    destination: check_can_live_migrate_destination   (where to connect, what it offers)
    source:      check_can_live_migrate_source        (what the guest holds; gates)
    destination: pre_live_migration                   (files; mdev claims via the hook)
    source:      live_migrate                         (blocks until the guest runs there)
                 live_migration_progress / _abort / _force_complete   (meanwhile)
    destination: post_live_migration_at_destination   or rollback_live_migration_at_destination
    source:      post_live_migration_at_source

:class:`LiveMigrationEndpoint` is mixed into the agent's endpoint. Mediated devices
plug in through :class:`MigrationHooks` (``agent.migration_hooks``, default none).
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import TYPE_CHECKING, Any, Protocol, cast

from virtfleet import errors
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.virt.libvirt import migration as policy
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.libvirt.guest import CONSOLE_LOG

if TYPE_CHECKING:
    from virtfleet.compute.manager import ComputeAgent

LOG = logging.getLogger(__name__)


class MigrationHooks(Protocol):
    """Where mediated devices (or anything host-specific) join a live migration."""

    def source_mdev_types(self, instance_uuid: str) -> dict[str, str]:
        """On the source: the guest's mdev uuid -> mdev type."""

    def claim_destination(self, data: LibvirtLiveMigrateData) -> dict[str, str]:
        """On the destination: claim devices for the guest (persisted); returns
        source mdev uuid -> destination mdev uuid. Raises to refuse."""

    def rewrite_xml(self, xml: str, data: LibvirtLiveMigrateData) -> str:
        """On the source: the migratable XML as the destination must define it."""

    def release(self, data: LibvirtLiveMigrateData, side: str, succeeded: bool) -> None:
        """Drop the claims of this migration on ``side`` (source/destination)."""


class NoMdevHooks:
    """Guests without mediated devices: nothing to claim, rewrite or release."""

    def source_mdev_types(self, instance_uuid: str) -> dict[str, str]:
        return {}

    def claim_destination(self, data: LibvirtLiveMigrateData) -> dict[str, str]:
        if data.has_mdevs:
            raise errors.InvalidInput(
                f"host {data.dest_host} cannot claim mediated devices for "
                f"{data.instance_uuid}: no mdev support on this agent"
            )
        return {}

    def rewrite_xml(self, xml: str, data: LibvirtLiveMigrateData) -> str:
        return xml

    def release(self, data: LibvirtLiveMigrateData, side: str, succeeded: bool) -> None:
        return None


DEFAULT_HOOKS = NoMdevHooks()


class LiveMigrationEndpoint:
    """Live-migration RPC methods of the agent (mixed into ``AgentEndpoint``)."""

    _agent: ComputeAgent

    @property
    def _driver(self) -> LibvirtDriver:
        return cast(LibvirtDriver, self._agent.driver)

    @property
    def _hooks(self) -> MigrationHooks:
        hooks: MigrationHooks = getattr(self._agent, "migration_hooks", DEFAULT_HOOKS)
        return hooks

    # -- checks --------------------------------------------------------------------
    def check_can_live_migrate_destination(
        self, data: LibvirtLiveMigrateData, block_migration: Any = "auto"
    ) -> LibvirtLiveMigrateData:
        """Can the guest come here? Fills in how to reach this host and what it has."""
        uuid = data.instance_uuid
        if uuid in self._driver.list_instance_uuids():
            raise errors.Conflict(f"instance {uuid} already has a domain on {self._agent.host}")
        info = self._driver.host_info()
        data.dest_uri = self._driver.migration_uri()
        socket_dir = self._agent.conf.libvirt.live_migration_socket_dir
        if socket_dir:
            data.data_uri = f"unix://{os.path.join(socket_dir, f'vf-migrate-{uuid[:8]}.sock')}"
        data.bandwidth_mib = self._agent.conf.libvirt.live_migration_bandwidth
        data.dst_libvirt_version = policy.version_text(info.libvirt_version)
        data.dst_qemu_version = policy.version_text(info.qemu_version)
        data.dst_supports_mdev_live_migration = policy.supports_mdev_migration(
            data.dst_libvirt_version, data.dst_qemu_version
        )
        data.is_shared_instance_path = bool(data.instance_dir) and os.path.isdir(
            str(data.instance_dir)
        )
        data.block_migration = policy.resolve_block_migration(
            block_migration, data.is_shared_instance_path
        )
        return data

    def check_can_live_migrate_source(self, data: LibvirtLiveMigrateData) -> LibvirtLiveMigrateData:
        """Can the guest leave? Adds the source's versions and the guest's mdevs and
        refuses what the version gates forbid, naming the side that is too old."""
        uuid = data.instance_uuid
        if self._driver.get_power_state(uuid) != "running":
            raise errors.Conflict(f"instance {uuid} is not running on {self._agent.host}")
        info = self._driver.host_info()
        data.src_libvirt_version = policy.version_text(info.libvirt_version)
        data.src_qemu_version = policy.version_text(info.qemu_version)
        data.source_mdev_types = dict(self._hooks.source_mdev_types(uuid))
        if data.has_mdevs:
            refusal = policy.mdev_version_refusal(
                "source", data.src_libvirt_version, data.src_qemu_version
            ) or policy.mdev_version_refusal(
                "destination", data.dst_libvirt_version, data.dst_qemu_version
            )
            if refusal is None and not data.dst_supports_mdev_live_migration:
                refusal = f"destination {data.dest_host} does not support mdev live migration"
            if refusal:
                raise errors.InvalidInput(refusal)
        return data

    # -- destination -----------------------------------------------------------------
    def pre_live_migration(self, data: LibvirtLiveMigrateData) -> LibvirtLiveMigrateData:
        """Prepare to receive: the instance directory and console log (when not
        shared), and the destination's device claims (mdev hook)."""
        if not data.is_shared_instance_path and data.instance_dir:
            os.makedirs(data.instance_dir, exist_ok=True)
            with open(os.path.join(data.instance_dir, CONSOLE_LOG), "ab"):
                pass
        data.target_mdevs = dict(self._hooks.claim_destination(data))
        missing = sorted(set(data.source_mdev_types) - set(data.target_mdevs))
        if missing:
            self._hooks.release(data, "destination", succeeded=False)
            raise errors.InvalidInput(
                f"host {self._agent.host} has no mdev for {', '.join(missing)} of "
                f"{data.instance_uuid}"
            )
        return data

    def post_live_migration_at_destination(self, data: LibvirtLiveMigrateData) -> str:
        """The guest runs here now: the claims become its devices; returns its state."""
        self._hooks.release(data, "destination", succeeded=True)
        return self._driver.get_power_state(data.instance_uuid)

    def rollback_live_migration_at_destination(self, data: LibvirtLiveMigrateData) -> None:
        """Undo everything the migration left here (domain, unshared files, claims);
        safe to call whatever happened before."""
        try:
            self._driver.live_migration_cleanup_destination(
                data.instance_uuid, remove_files=not data.is_shared_instance_path
            )
        finally:
            self._hooks.release(data, "destination", succeeded=False)

    # -- source ------------------------------------------------------------------------
    def live_migrate(self, data: LibvirtLiveMigrateData) -> None:
        """Move the guest; returns once it runs on the destination."""
        rewrite = self._hooks.rewrite_xml if data.has_mdevs else None
        if data.has_mdevs:
            unmapped = sorted(set(data.source_mdev_types) - set(data.target_mdevs))
            if unmapped:
                raise errors.InvalidInput(
                    f"no destination mdev for {', '.join(unmapped)}: migration aborted"
                )
        self._driver.live_migrate(data, rewrite)

    def live_migration_progress(self, instance_uuid: str) -> dict[str, int]:
        return self._driver.live_migration_progress(instance_uuid).as_dict()

    def live_migration_abort(self, instance_uuid: str) -> None:
        self._driver.live_migration_abort(instance_uuid)

    def live_migration_force_complete(self, instance_uuid: str) -> None:
        self._driver.live_migration_force_complete(instance_uuid)

    def post_live_migration_at_source(self, data: LibvirtLiveMigrateData) -> None:
        """The guest left: drop its files here when they were not shared, and the
        source side's claims."""
        try:
            directory = None if data.is_shared_instance_path else data.instance_dir
            if directory and os.path.basename(os.path.normpath(directory)) == data.instance_uuid:
                shutil.rmtree(directory, ignore_errors=True)
        finally:
            self._hooks.release(data, "source", succeeded=True)

    def live_migration_instance_dir(self, instance_uuid: str) -> str:
        """Where the guest's files are on this host."""
        return self._driver.instance_dir(instance_uuid)
