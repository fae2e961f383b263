"""The agent's part of live migration: the RPC methods the conductor calls on the
source and destination hosts, in the order it calls them:

    destination: check_can_live_migrate_destination   (where to connect, what it offers)
    destination: create_shared_storage_test_file      (then the source looks for it:
    source:      check_shared_storage_test_file        shared storage or a block
    destination: cleanup_shared_storage_test_file      migration)
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

import base64
import logging
import os
import shutil
import tempfile
from typing import Protocol

import libvirt
from oslo_config import cfg

from virtfleet import errors
from virtfleet.agent.network.plugging import HostNetwork
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.objects.rpc_results import GuestWhereabouts, MigrationProgress
from virtfleet.virt import config_drive
from virtfleet.virt.driver import ComputeDriver
from virtfleet.virt.libvirt import migration as policy
from virtfleet.virt.libvirt.guest import CONSOLE_LOG
from virtfleet.virt.libvirt.host import instances_path

SHARED_TEST_PREFIX = ".vf-shared-test-"

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


class MigratingAgent(Protocol):
    """What the live-migration methods use of the agent they serve in (the
    :class:`~virtfleet.agent.manager.ComputeAgent`)."""

    @property
    def host(self) -> str: ...

    @property
    def conf(self) -> cfg.ConfigOpts: ...

    @property
    def driver(self) -> ComputeDriver: ...

    @property
    def network(self) -> HostNetwork: ...


def _read_config_drive(instance_dir: str) -> str | None:
    """The guest's config drive ISO in ``instance_dir``, base64; None without one."""
    try:
        with open(config_drive.path_in(instance_dir), "rb") as iso:
            return base64.b64encode(iso.read()).decode("ascii")
    except FileNotFoundError:
        return None


class LiveMigrationEndpoint:
    """Live-migration RPC methods of the agent (mixed into ``AgentEndpoint``); the
    conductor calls them through :class:`~virtfleet.agent.rpcapi.ComputeClient`."""

    _agent: MigratingAgent

    @property
    def _driver(self) -> ComputeDriver:
        return self._agent.driver

    @property
    def _hooks(self) -> MigrationHooks:
        hooks: MigrationHooks = getattr(self._agent, "migration_hooks", DEFAULT_HOOKS)
        return hooks

    # -- checks --------------------------------------------------------------------
    def check_can_live_migrate_destination(
        self, data: LibvirtLiveMigrateData, block_migration: bool | str = "auto"
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
        data.dest_instance_dir = self._driver.instance_dir(uuid)  # no domain here: the default
        return data

    def create_shared_storage_test_file(self) -> str:
        """A new empty file in this host's instances path; returns its name (the source
        looks for it in its own to tell whether the two share storage)."""
        directory = instances_path(self._agent.conf)
        os.makedirs(directory, exist_ok=True)
        handle, path = tempfile.mkstemp(prefix=SHARED_TEST_PREFIX, dir=directory)
        os.close(handle)
        return os.path.basename(path)

    def check_shared_storage_test_file(self, name: str) -> bool:
        """Whether this host sees the destination's test file ``name``."""
        return os.path.exists(self._test_file(name))

    def cleanup_shared_storage_test_file(self, name: str) -> None:
        path = self._test_file(name)
        if os.path.exists(path):
            os.unlink(path)

    def _test_file(self, name: str) -> str:
        if not name.startswith(SHARED_TEST_PREFIX) or os.path.basename(name) != name:
            raise errors.InvalidInput(f"{name!r} is not a shared-storage test file name")
        return os.path.join(instances_path(self._agent.conf), name)

    def check_can_live_migrate_source(self, data: LibvirtLiveMigrateData) -> LibvirtLiveMigrateData:
        """Can the guest leave? Adds the source's versions, the guest's mdevs and (when
        the hosts share no storage) its config drive, and refuses what the version
        gates forbid, naming the side that is too old."""
        uuid = data.instance_uuid
        if self._driver.get_power_state(uuid) != "running":
            raise errors.Conflict(f"instance {uuid} is not running on {self._agent.host}")
        info = self._driver.host_info()
        data.src_libvirt_version = policy.version_text(info.libvirt_version)
        data.src_qemu_version = policy.version_text(info.qemu_version)
        data.source_mdev_types = dict(self._hooks.source_mdev_types(uuid))
        if data.block_migration and data.instance_dir:
            xml = self._driver.get_domain_xml(uuid)
            data.local_disks = policy.local_disks(xml, data.instance_dir)
        if not data.is_shared_instance_path and data.instance_dir:
            data.config_drive = _read_config_drive(data.instance_dir)
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
        """Prepare to receive: without shared storage the guest's directory here, its
        console log, its config drive (the source's copy) and empty disks for libvirt
        to copy into (marked as prepared by
        this migration); then the destination's device claims (mdev hook)."""
        if not data.is_shared_instance_path:
            target = data.dest_instance_dir or data.instance_dir
            if target:
                if os.path.isdir(target) and os.listdir(target):
                    raise errors.Conflict(
                        f"{target} already exists on {self._agent.host} and is not empty, "
                        "though the hosts share no storage: not overwriting it"
                    )
                os.makedirs(target, exist_ok=True)
                with open(os.path.join(target, CONSOLE_LOG), "ab"):
                    pass
                policy.mark_prepared(target, data.migration_uuid)
                if data.config_drive:  # the same ISO the guest has on the source
                    with open(config_drive.path_in(target), "wb") as iso:
                        iso.write(base64.b64decode(data.config_drive))
                if data.block_migration:
                    data.full_disk_copy = policy.create_target_disks(data, target)
        data.target_mdevs = dict(self._hooks.claim_destination(data))
        missing = sorted(set(data.source_mdev_types) - set(data.target_mdevs))
        if missing:
            self._hooks.release(data, "destination", succeeded=False)
            raise errors.InvalidInput(
                f"host {self._agent.host} has no mdev for {', '.join(missing)} of "
                f"{data.instance_uuid}"
            )
        if data.vifs:  # the guest's bridges and ports exist here before it arrives
            try:
                self._agent.network.plug(data.instance_uuid, data.vifs)
            except Exception:
                self._hooks.release(data, "destination", succeeded=False)
                raise
        return data

    def post_live_migration_at_destination(self, data: LibvirtLiveMigrateData) -> str:
        """The guest runs here now: the claims become its devices; returns its state."""
        self._hooks.release(data, "destination", succeeded=True)
        return self._driver.get_power_state(data.instance_uuid)

    def rollback_live_migration_at_destination(self, data: LibvirtLiveMigrateData) -> None:
        """Undo everything the migration left here (domain, claims, and files only
        in a directory this migration prepared, never shared ones); safe to call
        whatever happened before."""
        self._agent.network.unplug(data.instance_uuid)
        try:
            directory = self._driver.instance_dir(data.instance_uuid)
            prepared = os.path.exists(
                os.path.join(directory, policy.marker_name(data.migration_uuid))
            )
            self._driver.live_migration_cleanup_destination(
                data.instance_uuid, remove_files=prepared and not data.is_shared_instance_path
            )
        finally:
            self._hooks.release(data, "destination", succeeded=False)

    # -- source ------------------------------------------------------------------------
    def live_migrate(self, data: LibvirtLiveMigrateData) -> None:
        """Move the guest; returns once it runs on the destination."""
        rewrite = self._rewrite(data)
        if data.has_mdevs:
            unmapped = sorted(set(data.source_mdev_types) - set(data.target_mdevs))
            if unmapped:
                raise errors.InvalidInput(
                    f"no destination mdev for {', '.join(unmapped)}: migration aborted"
                )
        self._driver.live_migrate(data, rewrite)

    def _rewrite(self, data: LibvirtLiveMigrateData) -> policy.XmlRewrite | None:
        """The XML changes the destination needs: paths moved into its own instance
        directory (block migration) and the mdev uuids it claimed."""
        relocate = (
            not data.is_shared_instance_path
            and data.instance_dir
            and data.dest_instance_dir
            and os.path.normpath(data.instance_dir) != os.path.normpath(data.dest_instance_dir)
        )
        if not relocate and not data.has_mdevs:
            return None
        hooks = self._hooks

        def rewrite(xml: str, data: LibvirtLiveMigrateData) -> str:
            if relocate:
                xml = policy.relocate_xml(xml, str(data.instance_dir), str(data.dest_instance_dir))
            return hooks.rewrite_xml(xml, data) if data.has_mdevs else xml

        return rewrite

    def live_migration_progress(self, instance_uuid: str) -> MigrationProgress:
        return MigrationProgress(**self._driver.live_migration_progress(instance_uuid).as_dict())

    def live_migration_abort(self, instance_uuid: str) -> None:
        self._driver.live_migration_abort(instance_uuid)

    def live_migration_force_complete(self, instance_uuid: str) -> None:
        self._driver.live_migration_force_complete(instance_uuid)

    def post_live_migration_at_source(self, data: LibvirtLiveMigrateData) -> None:
        """The guest left: drop its files here when they were not shared, and the
        source side's claims (and its ports here)."""
        self._agent.network.unplug(data.instance_uuid)
        try:
            directory = policy.may_remove_source_files(data)
            if directory:
                shutil.rmtree(directory, ignore_errors=True)
        finally:
            self._hooks.release(data, "source", succeeded=True)

    def live_migration_whereabouts(self, instance_uuid: str) -> GuestWhereabouts:
        """For the recovery of an interrupted migration: the guest's power state here
        (None without a domain) and whether a migration job of it runs."""
        try:
            state: str | None = self._driver.get_power_state(instance_uuid)
        except errors.NotFound:
            return GuestWhereabouts(state=None, job_active=False)
        try:
            domain = self._driver.connection.lookupByUUIDString(instance_uuid)
        except libvirt.libvirtError:
            return GuestWhereabouts(state=None, job_active=False)  # gone in the meantime
        return GuestWhereabouts(state=state, job_active=policy.job_active(domain))

    def live_migration_instance_dir(self, instance_uuid: str) -> str:
        """Where the guest's files are on this host."""
        return self._driver.instance_dir(instance_uuid)
