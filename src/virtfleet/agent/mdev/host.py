"""One agent's vGPU host: its GPU providers, mdevs for spawns, and the mdev hooks of
live migration (``compute.migration.MigrationHooks``).

A lock serialises every choice of mdevs on this agent (spawns and migration claims);
the persisted claims and their unique (host, mdev) make choices safe across restarts
and between agents sharing a database.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Collection, Mapping

from lxml import etree
from oslo_config import cfg

from virtfleet import errors
from virtfleet.agent.mdev import config
from virtfleet.agent.mdev.assign import (
    MDEV_ADDRESS,
    MdevPicker,
    assign_for_allocation,
    guest_mdev_uuids,
    mdevs_in_use,
)
from virtfleet.agent.mdev.claims import MdevClaimStore
from virtfleet.agent.mdev.providers import GpuProvider, active_mdevs, gpu_providers
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.virt.hypervisor import Connection

LOG = logging.getLogger(__name__)

CLAIM_ATTEMPTS = 3


def rewrite_mdev_uuids(xml: str, target_mdevs: Mapping[str, str]) -> str:
    """``xml`` with every mdev uuid replaced by its destination mdev. An mdev without a
    mapping aborts the migration (InvalidInput naming it)."""
    root = etree.fromstring(xml.encode())
    addresses = list(root.iterfind(MDEV_ADDRESS))
    if not addresses:
        return xml
    unmapped = sorted({str(a.get("uuid")) for a in addresses} - set(target_mdevs))
    if unmapped:
        raise errors.InvalidInput(
            f"no destination mdev for {', '.join(unmapped)}: migration aborted"
        )
    for address in addresses:
        address.set("uuid", target_mdevs[str(address.get("uuid"))])
    return str(etree.tostring(root, encoding="unicode"))


def unsupported_types(source_types: Mapping[str, str], gpus: list[GpuProvider]) -> list[str]:
    """Source mdev types no GPU of the destination serves."""
    served = {gpu.type_id for gpu in gpus}
    return sorted(set(source_types.values()) - served)


def plan_targets(
    source_types: Mapping[str, str],
    gpus: list[GpuProvider],
    picker: MdevPicker,
    preferred: Collection[str] = (),
) -> dict[str, str]:
    """source mdev -> destination mdev of the same type, one each (1:1), on the GPUs
    whose provider uuids are ``preferred`` (the migration's placement allocation) first,
    then the others by size. Takes free mdevs, then creates them. InvalidInput when the
    destination runs out."""
    mapping: dict[str, str] = {}
    for source, type_id in sorted(source_types.items()):
        candidates = [g for g in gpus if g.type_id == type_id]
        for gpu in sorted(candidates, key=lambda g: (g.uuid not in preferred, -g.total)):
            try:
                mapping[source] = picker.take(gpu, 1)[0]
                break
            except errors.HypervisorError:
                continue  # full; the next GPU of the type may have room
        else:
            raise errors.InvalidInput(f"not enough free mdevs of type {type_id} for {source}")
    return mapping


class VgpuHost:
    """The mdev side of one agent."""

    def __init__(
        self, conn: Connection, conf: cfg.ConfigOpts, host: str, store: MdevClaimStore
    ) -> None:
        self.conn = conn
        self.conf = conf
        self.host = host
        self.store = store
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(config.enabled_types(self.conf))

    def providers(self) -> list[GpuProvider]:
        """The GPU child providers to report."""
        return gpu_providers(self.conn, self.conf, self.host)

    # -- spawn ---------------------------------------------------------------------
    def assign(self, allocations: Mapping[str, Mapping[str, int]] | None) -> MdevPicker | None:
        """Mdevs for a guest's VGPU allocation, neither in use nor claimed. The caller
        undoes the picker when the spawn fails."""
        with self._lock:
            return assign_for_allocation(
                self.conn, self.providers(), allocations, self.store.claimed
            )

    # -- live migration hooks --------------------------------------------------------
    def source_mdev_types(self, instance_uuid: str) -> dict[str, str]:
        """On the source: the guest's mdev uuid -> type."""
        try:
            xml = self.conn.lookupByUUIDString(instance_uuid).XMLDesc(0)
        except Exception as exc:
            raise errors.NotFound(f"no domain {instance_uuid} on {self.host}: {exc}") from exc
        types = {m.uuid: m.type_id for m in active_mdevs(self.conn)}
        held = guest_mdev_uuids(xml)
        unknown = [u for u in held if u not in types]
        if unknown:
            raise errors.Conflict(
                f"instance {instance_uuid} attaches mdev {', '.join(unknown)}, which does "
                f"not exist on {self.host}"
            )
        return {uuid: types[uuid] for uuid in held}

    def claim_destination(
        self, data: LibvirtLiveMigrateData, preferred_gpus: Collection[str] = ()
    ) -> dict[str, str]:
        """On the destination: check the types, pick same-type mdevs 1:1 (on
        ``preferred_gpus`` provider uuids first) and persist the claim; returns source
        mdev -> destination mdev. Claiming again for the same migration returns the
        same mapping."""
        source_types = dict(data.source_mdev_types) if data.has_mdevs else {}
        if not source_types:
            return {}
        existing = self.store.for_migration(data.migration_uuid)
        if existing and set(existing) == set(source_types):
            return existing
        gpus = self.providers()
        missing = unsupported_types(source_types, gpus)
        if missing:
            raise errors.InvalidInput(
                f"host {self.host} does not offer mdev type {', '.join(missing)} "
                f"(enabled here: {', '.join(sorted({g.type_id for g in gpus})) or 'none'})"
            )
        last: errors.Conflict | None = None
        for _ in range(CLAIM_ATTEMPTS):
            with self._lock:
                picker = MdevPicker(self.conn, {*mdevs_in_use(self.conn), *self.store.claimed()})
                try:
                    mapping = plan_targets(source_types, gpus, picker, preferred_gpus)
                    self.store.claim(data.instance_uuid, data.migration_uuid, mapping, source_types)
                    return mapping
                except errors.Conflict as exc:  # another agent sharing the table won
                    picker.undo()
                    last = exc
                except Exception:
                    picker.undo()
                    raise
        raise errors.InvalidInput(f"host {self.host}: could not claim mdevs: {last}")

    def rewrite_xml(self, xml: str, data: LibvirtLiveMigrateData) -> str:
        """On the source: the migration XML with the destination's mdev uuids."""
        return rewrite_mdev_uuids(xml, data.target_mdevs)

    def release(self, data: LibvirtLiveMigrateData, side: str, succeeded: bool) -> None:
        """Drop the migration's claims on the destination. After a success the guest's
        domain names the mdevs, which keeps them in use; after a failure they are free
        again (and reused by the next spawn or claim)."""
        if side == "destination":
            released = self.store.release(data.migration_uuid)
            LOG.info(
                "host %s: released %d mdev claim(s) of migration %s (%s)",
                self.host,
                released,
                data.migration_uuid,
                "succeeded" if succeeded else "failed",
            )

    # -- stale claims ----------------------------------------------------------------
    def claimed_migrations(self) -> list[str]:
        """The migrations holding claims here."""
        return sorted({c.migration_uuid for c in self.store.list()})

    def reap_stale(
        self, max_age: datetime.timedelta | None = None, ended: Collection[str] = ()
    ) -> list[str]:
        """Release claims whose migration is over: the control plane says it ended
        (``ended``), or the guest's domain here attaches the claimed mdevs (so they stay
        in use without the claim), or the claim is older than ``max_age``; returns the
        released migration uuids. Run at agent start and at every periodic report."""
        age = max_age or datetime.timedelta(seconds=self.conf.devices.mdev_claim_max_age)
        in_use = mdevs_in_use(self.conn)
        claims = self.store.list()
        over = set(ended)

        def finished(migration_uuid: str) -> bool:
            if migration_uuid in over:
                return True
            mine = [c for c in claims if c.migration_uuid == migration_uuid]
            return bool(mine) and all(in_use.get(c.mdev_uuid) == c.instance_uuid for c in mine)

        return sorted({c.migration_uuid for c in self.store.reap(finished, age)})
