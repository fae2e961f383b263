"""Live migration between simulated hosts of one fleet (``migrateToURI3``).

Phases as libvirt runs them: *begin* (source: the domain can migrate), *prepare*
(destination: the incoming XML is defined and validated there, devices exist, and
for a block migration the disks to copy into),
*perform* (memory copy, with progress and abort; a guest suspended meanwhile, as a
force-complete does, converges in one short last pass), *finish* (destination: the guest runs
there), then confirm (source: the guest stops there). The source pauses the guest before
*finish*; lifecycle events come in libvirt 9.0's order (destination: started/migrated,
defined, resumed/migrated; source: suspended/migrated, stopped/migrated). A failure in
any phase, an abort or an injected fault leaves the guest running on the source and
nothing on the destination.
No lock is held across phases; the two hosts' locks are never held together.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlparse

import libvirt
from lxml import etree

from virtfleet.errors import NotFound
from virtfleet.virt.hypervisor import MigrationParams
from virtfleet.virt.sim.domxml import DomainDef, parse_domain
from virtfleet.virt.sim.errors import libvirt_error
from virtfleet.virt.sim.hypervisor import DomainRecord, Event, MigrationJob, SimHypervisor
from virtfleet.virt.sim.profile import Version
from virtfleet.virt.sim.registry import hypervisor_for
from virtfleet.virt.sim.startcheck import check_start

# Both sides need these for a guest with mdevs (libvirt's VFIO migration support).
MDEV_MIGRATION_MIN_LIBVIRT = Version(8, 6, 0)
MDEV_MIGRATION_MIN_QEMU = Version(8, 1, 0)
_STEP = 0.01  # seconds between progress updates
BLOCK_COPY_FLAGS = libvirt.VIR_MIGRATE_NON_SHARED_INC | libvirt.VIR_MIGRATE_NON_SHARED_DISK


def migrate(
    source: SimHypervisor, uuid: str, uri: str, params: MigrationParams, flags: int
) -> None:
    """Move running domain ``uuid`` from ``source`` to the host named by ``uri``."""
    destination = _destination(source, uri)
    job, xml = _begin(source, destination, uuid, params, flags)
    paused = False
    try:
        incoming = _prepare(source, destination, uuid, xml, params, flags)
        _perform(source, destination, job)
        paused = _pause_source(source, uuid)
        _finish(source, destination, incoming, flags)
    except BaseException:
        with source.locked() as events:
            _end_job(source, uuid, job)
            if paused or job.paused_at is not None:  # by us, or by a force-complete
                _resume_source(source, uuid, events)
        raise
    _confirm(source, uuid, job, flags)


def _destination(source: SimHypervisor, uri: str) -> SimHypervisor:
    parsed = urlparse(uri)
    name = parsed.netloc or parsed.path.strip("/")
    if parsed.scheme != "sim" or not name:
        raise libvirt_error(
            libvirt.VIR_ERR_NO_CONNECT,
            f"{uri}: a simulated host can only migrate to sim://HOST",
            libvirt.VIR_FROM_NONE,
        )
    if source.fleet is None:
        raise libvirt_error(
            libvirt.VIR_ERR_OPERATION_FAILED,
            f"host {source.profile.name} belongs to no fleet; cannot reach {uri}",
            libvirt.VIR_FROM_RPC,
        )
    try:
        destination = hypervisor_for(source.fleet, name)
    except NotFound:
        raise libvirt_error(
            libvirt.VIR_ERR_SYSTEM_ERROR,
            f"unable to connect to server at '{name}': Connection refused",
            libvirt.VIR_FROM_RPC,
            prefix=False,
        ) from None
    if destination is source:
        raise libvirt_error(
            libvirt.VIR_ERR_INTERNAL_ERROR,
            f"Attempt to migrate guest to the same host {source.uuid}",
        )
    return destination


def _begin(
    source: SimHypervisor,
    destination: SimHypervisor,
    uuid: str,
    params: MigrationParams,
    flags: int,
) -> tuple[MigrationJob, str]:
    with source.locked():
        record = source.record(uuid)
        source.require_active(record)
        if record.job is not None:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_INVALID,
                f"domain '{record.definition.name}' already has an active migration job",
            )
        _check_devices_migratable(record.definition, source, destination, flags)
        fault = source.take_fault("begin") or destination.take_fault("begin")
        if fault is not None:
            raise fault
        uri = str(params.get(libvirt.VIR_MIGRATE_PARAM_URI) or "")
        if (
            flags & BLOCK_COPY_FLAGS
            and uri.startswith("unix://")
            and not params.get(libvirt.VIR_MIGRATE_PARAM_DISKS_URI)
        ):
            raise libvirt_error(
                libvirt.VIR_ERR_INVALID_ARG,
                "NBD URI must be supplied when migration URI uses UNIX transport method",
            )
        xml = params.get(libvirt.VIR_MIGRATE_PARAM_DEST_XML) or record.definition.xml
        job = MigrationJob(total_bytes=record.definition.memory_kib * 1024, flags=flags)
        record.job = job
    return job, str(xml)


def _check_devices_migratable(
    definition: DomainDef, source: SimHypervisor, destination: SimHypervisor, flags: int
) -> None:
    if definition.pci_addresses:
        raise libvirt_error(
            libvirt.VIR_ERR_OPERATION_INVALID,
            "cannot migrate domain: domain has assigned non-USB host devices",
        )
    if not definition.mdev_uuids:
        return
    for host in (source.profile, destination.profile):
        if (
            host.libvirt_version < MDEV_MIGRATION_MIN_LIBVIRT
            or host.qemu_version < MDEV_MIGRATION_MIN_QEMU
        ):
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_INVALID,
                f"cannot migrate domain: domain has assigned non-USB host devices "
                f"(mdev migration needs libvirt >= {MDEV_MIGRATION_MIN_LIBVIRT} and QEMU >= "
                f"{MDEV_MIGRATION_MIN_QEMU}; {host.name} has {host.libvirt_version} / "
                f"{host.qemu_version})",
            )
    if flags & libvirt.VIR_MIGRATE_POSTCOPY:
        raise libvirt_error(
            libvirt.VIR_ERR_OPERATION_INVALID,
            "cannot migrate domain: post-copy migration is not supported with VFIO devices",
        )


def _prepare(
    source: SimHypervisor,
    destination: SimHypervisor,
    uuid: str,
    xml: str,
    params: MigrationParams,
    flags: int = 0,
) -> DomainRecord:
    with destination.locked():
        fault = destination.take_fault("prepare") or source.take_fault("prepare")
        if fault is not None:
            raise fault
        definition = parse_domain(xml, destination.profile)
        if definition.uuid != uuid:
            raise libvirt_error(
                libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                f"Target domain uuid {definition.uuid} does not match source {uuid}",
            )
        for record in destination.records():
            same_uuid = record.definition.uuid == uuid
            if same_uuid and record.active:
                raise libvirt_error(
                    libvirt.VIR_ERR_OPERATION_INVALID,
                    f"domain '{record.definition.name}' is already active",
                )
            if not same_uuid and record.definition.name == definition.name:
                raise libvirt_error(
                    libvirt.VIR_ERR_OPERATION_FAILED,
                    f"domain '{definition.name}' already exists with uuid {record.definition.uuid}",
                )
        check_start(
            definition,
            destination.profile,
            destination.devices,
            destination.running_definitions(),
        )
        if flags & BLOCK_COPY_FLAGS:
            _check_copy_targets(xml)
        return DomainRecord(definition, persistent=False)


def _check_copy_targets(xml: str) -> None:
    """A block migration copies into disks the destination already has (libvirt
    creates none for plain files): each file disk of the incoming XML must exist."""
    for source in etree.fromstring(xml.encode()).iterfind("devices/disk[@type='file']/source"):
        path = source.get("file")
        if path and not os.path.exists(path):
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_FAILED,
                f"Cannot access storage file '{path}': No such file or directory",
            )


def _perform(source: SimHypervisor, destination: SimHypervisor, job: MigrationJob) -> None:
    """Copy memory for ``migration_duration`` seconds, or, once the guest is paused
    (force-complete), for a last pass of at most ``migration_convergence`` seconds."""
    duration = max(source.migration_duration, 0.0)
    convergence = max(source.migration_convergence, 0.0)
    fault = source.take_fault("perform") or destination.take_fault("perform")
    while True:
        now = time.monotonic()
        with source.locked():  # a suspend sets the pause under this lock
            fraction = job.fraction(now, duration, convergence)
            job.processed_bytes = int(job.total_bytes * fraction)
        if job.aborted.is_set():
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_ABORTED, "migration out: canceled by client"
            )
        if fault is not None and fraction >= 0.5:
            raise fault
        if fraction >= 1.0:
            return
        time.sleep(_STEP)


def _finish(
    source: SimHypervisor, destination: SimHypervisor, incoming: DomainRecord, flags: int
) -> None:
    with destination.locked() as events:
        fault = destination.take_fault("finish") or source.take_fault("finish")
        if fault is not None:
            raise fault
        uuid = incoming.definition.uuid
        existing = next((r for r in destination.records() if r.definition.uuid == uuid), None)
        incoming.persistent = bool(flags & libvirt.VIR_MIGRATE_PERSIST_DEST) or (
            existing is not None and existing.persistent
        )
        # Devices may have gone while copying memory: check again under the lock.
        others = [d for d in destination.running_definitions() if d.uuid != uuid]
        check_start(incoming.definition, destination.profile, destination.devices, others)
        destination.install(incoming)
        incoming.state = libvirt.VIR_DOMAIN_RUNNING
        incoming.reason = libvirt.VIR_DOMAIN_RUNNING_MIGRATED
        incoming.domain_id, incoming.started = destination.next_id(), time.monotonic()
        name = incoming.definition.name
        # libvirt 9.0's order on the destination: started (paused), defined, resumed
        events.append(
            (
                uuid,
                name,
                libvirt.VIR_DOMAIN_EVENT_STARTED,
                libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED,
            )
        )
        if incoming.persistent:
            detail = (
                libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED
                if existing is None or not existing.persistent
                else libvirt.VIR_DOMAIN_EVENT_DEFINED_UPDATED
            )
            events.append((uuid, name, libvirt.VIR_DOMAIN_EVENT_DEFINED, detail))
        events.append(
            (
                uuid,
                name,
                libvirt.VIR_DOMAIN_EVENT_RESUMED,
                libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED,
            )
        )


def _pause_source(source: SimHypervisor, uuid: str) -> bool:
    """The source pauses the guest for the last memory pass (event suspended/migrated);
    a guest a force-complete paused already stays so, without a second event."""
    with source.locked() as events:
        record = source.record(uuid)
        if record.state != libvirt.VIR_DOMAIN_RUNNING:
            return bool(record.reason == libvirt.VIR_DOMAIN_PAUSED_MIGRATION)
        record.state, record.reason = libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_MIGRATION
        events.append(
            (
                uuid,
                record.definition.name,
                libvirt.VIR_DOMAIN_EVENT_SUSPENDED,
                libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED,
            )
        )
        return True


def _resume_source(source: SimHypervisor, uuid: str, events: list[Event]) -> None:
    """A migration that failed after the pause leaves the guest running on the source."""
    try:
        record = source.record(uuid)
    except libvirt.libvirtError:
        return
    if record.state == libvirt.VIR_DOMAIN_PAUSED:
        record.state = libvirt.VIR_DOMAIN_RUNNING
        record.reason = libvirt.VIR_DOMAIN_RUNNING_MIGRATION_CANCELED
        events.append(
            (
                uuid,
                record.definition.name,
                libvirt.VIR_DOMAIN_EVENT_RESUMED,
                libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED,
            )
        )


def _confirm(source: SimHypervisor, uuid: str, job: MigrationJob, flags: int) -> None:
    with source.locked() as events:
        record = source.record(uuid)
        job.processed_bytes, job.completed = job.total_bytes, True
        record.job, record.last_job = None, job
        source.stop(
            record,
            libvirt.VIR_DOMAIN_SHUTOFF_MIGRATED,
            libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED,
            events,
        )
        if flags & libvirt.VIR_MIGRATE_UNDEFINE_SOURCE and record.persistent:
            source.undefine(record, [])  # libvirt 9.0 sends no undefined event here


def _end_job(source: SimHypervisor, uuid: str, job: MigrationJob) -> None:
    """A failed or aborted job ends without completed statistics (as in libvirt 9.0)."""
    try:
        record = source.record(uuid)
    except libvirt.libvirtError:
        return
    if record.job is job:
        record.job, record.last_job = None, None
