"""The agent's part of a cold migration or resize: the RPC methods the conductor calls
on the destination and the source, in the order it calls them:

    destination: prep_resize                 (can the guest run here: no domain of it
                                              yet, the guest resolves on this host)
    source:      migrate_disk_and_power_off  (guest stopped and undefined, its files
                                              kept as ``<instance dir>_resize``)
    source:      offer_resize_disk           (only when the destination does not see
                                              the source's instances path: the kept
                                              root disk served once over HTTP)
    destination: finish_resize               (the guest defined from a copy of the
                                              kept root disk — pulled from the
                                              source's offer and checked — started if
                                              it ran)
    then, once the user (or the confirm window) decides:
    source:      confirm_resize              (the kept files removed)
    or
    destination: destroy                     (the new guest and its files)
    source:      finish_resize               (the guest again from the kept disk)
    source:      confirm_resize              (the kept files removed)

The disk is copied through the instances path when the destination sees the
source's (shared storage, or the same host; the conductor checks which); otherwise
the destination pulls the kept qcow2 overlay from the source's one-time HTTP offer
(:mod:`~virtfleet.agent.disk_transfer`, size and SHA-256 checked) and puts it over
its own cache's copy of the same image. The config drive is written again on the
destination from the instance's data.
:class:`ColdMigrationEndpoint` is mixed into the agent's endpoint.
"""

from __future__ import annotations

import logging
import os
import shutil

from virtfleet import errors
from virtfleet.agent import disk_transfer
from virtfleet.agent.guest_spec import to_guest_spec
from virtfleet.agent.migration import MigratingAgent
from virtfleet.objects.instance import InstanceSpec
from virtfleet.objects.rpc_results import DiskOffer
from virtfleet.virt.libvirt.driver import kept_dir

LOG = logging.getLogger(__name__)

DISK_FILE = "disk"


class ColdMigrationEndpoint:
    """Cold-migration RPC methods of the agent (mixed into ``AgentEndpoint``); the
    conductor calls them through :class:`~virtfleet.agent.rpcapi.ComputeClient`."""

    _agent: MigratingAgent

    def _spawn_moved(self, instance: InstanceSpec, disk_source: str | None) -> None:
        """Spawn ``instance`` with its root disk copied from ``disk_source``."""
        raise NotImplementedError  # AgentEndpoint's

    def prep_resize(self, instance: InstanceSpec, same_host: bool = False) -> None:
        """Can ``instance`` (its new flavor) run here? Conflict when a domain of it is
        already here (unless it resizes on its own host), InvalidInput when the guest
        does not resolve on this host (architecture, machine, CPU, firmware)."""
        uuid = instance.uuid
        driver = self._agent.driver
        if not same_host and uuid in driver.list_instance_uuids():
            raise errors.Conflict(f"instance {uuid} already has a domain on {self._agent.host}")
        driver.build(to_guest_spec(self._agent.conf, instance))

    def migrate_disk_and_power_off(self, instance_uuid: str) -> str:
        """Stop and undefine the guest, unplug its ports, keep its files; returns the
        kept directory (for the destination's copy, and confirm or revert)."""
        kept = self._agent.driver.migrate_disk_and_power_off(instance_uuid)
        self._agent.network.unplug(instance_uuid)
        LOG.info("host %s: %s stopped for its move, files kept in %s",
                 self._agent.host, instance_uuid, kept)  # fmt: skip
        return kept

    def offer_resize_disk(self, instance_uuid: str, kept: str) -> DiskOffer | None:
        """Serve the root disk in ``kept`` once, for a destination that does not see
        this host's instances path; None when the guest has no disk (a kernel-only
        guest)."""
        self._check_kept(kept)
        disk = os.path.join(kept, DISK_FILE)
        if not os.path.isfile(disk):
            return None
        conf = self._agent.conf.libvirt
        offered = disk_transfer.offer(
            disk,
            str(conf.disk_transfer_address),
            int(conf.disk_transfer_port),
            float(conf.disk_transfer_timeout),
        )
        LOG.info("host %s: root disk of %s offered at %s (%d bytes)",
                 self._agent.host, instance_uuid, offered.url, offered.size)  # fmt: skip
        return offered

    def finish_resize(
        self,
        instance: InstanceSpec,
        kept: str,
        power_on: bool = True,
        offer: DiskOffer | None = None,
    ) -> None:
        """Spawn ``instance`` here from the root disk in ``kept`` (copied; a kernel-only
        guest has none) — or, with ``offer``, from the disk pulled from the source —
        stopped again when it was not running. InvalidInput when ``kept`` is not a
        kept directory this host sees (and there is no offer)."""
        self._check_kept(kept)
        if offer is not None:
            self._finish_from_offer(instance, offer, power_on)
            return
        if not os.path.isdir(kept):
            raise errors.InvalidInput(
                f"host {self._agent.host} does not see {kept}: a cold migration needs the "
                "source's instances path (shared storage or the same host) or its disk "
                "offered by the source"
            )
        disk = os.path.join(kept, DISK_FILE)
        self._spawn_moved(instance, disk if os.path.isfile(disk) else None)
        if not power_on:
            self._agent.driver.power_off(instance.uuid)

    def _finish_from_offer(self, instance: InstanceSpec, offer: DiskOffer, power_on: bool) -> None:
        """Pull the offered disk beside this host's instance directory, spawn from it,
        and remove the pulled copy whatever happened."""
        incoming = os.path.normpath(self._agent.driver.instance_dir(instance.uuid)) + "_incoming"
        shutil.rmtree(incoming, ignore_errors=True)
        os.makedirs(incoming)
        try:
            disk = os.path.join(incoming, DISK_FILE)
            timeout = float(self._agent.conf.libvirt.disk_transfer_timeout)
            disk_transfer.fetch(offer, disk, timeout)
            LOG.info("host %s: root disk of %s pulled from %s (%d bytes, SHA-256 checked)",
                     self._agent.host, instance.uuid, offer.url, offer.size)  # fmt: skip
            self._spawn_moved(instance, disk)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        if not power_on:
            self._agent.driver.power_off(instance.uuid)

    @staticmethod
    def _check_kept(kept: str) -> None:
        if not os.path.basename(os.path.normpath(kept)).endswith("_resize"):
            raise errors.InvalidInput(f"{kept} is not a directory a cold migration kept")

    def confirm_resize(self, kept: str) -> None:
        """Remove the files a move kept (the move was confirmed or reverted)."""
        self._agent.driver.cleanup_resize(kept)

    def resize_kept_dir(self, instance_uuid: str) -> str:
        """Where this host keeps the guest's files while it moves (for a clean-up when
        the conductor never learnt it)."""
        return kept_dir(self._agent.driver.instance_dir(instance_uuid))
