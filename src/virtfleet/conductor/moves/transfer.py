"""Transfer a live guest: ``live_migrate`` runs on the source while this watches it —
progress written to the record, the server's task kept alive, and the libvirt job
aborted on a cancel or after ``[libvirt] live_migration_timeout``."""

from __future__ import annotations

import concurrent.futures
import contextvars
import logging
import time

from virtfleet import errors
from virtfleet.conductor.moves import policy
from virtfleet.conductor.moves.services import Services
from virtfleet.conductor.moves.tracking import MoveTracker
from virtfleet.db import migration_records as records
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.servers import service

LOG = logging.getLogger(__name__)


def live_transfer(
    svc: Services, tracker: MoveTracker, migration: records.Migration, data: LibvirtLiveMigrateData
) -> None:
    """Run ``live_migrate`` on the source until it returns (or raises its error)."""
    conf = svc.conf.libvirt
    timeout = float(conf.live_migration_timeout)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(1, "live-migrate") as pool:
        agents = svc.agents.with_timeout(timeout + svc.conf.rpc_response_timeout)
        # the call carries the migration's request id (its context) to the source agent
        context = contextvars.copy_context()
        future = pool.submit(context.run, agents.live_migrate, data.source_host, data)
        aborted = False
        while True:
            try:
                future.result(timeout=conf.live_migration_progress_interval)
                return
            except concurrent.futures.TimeoutError:
                pass
            record_progress(svc, migration, data)
            late = policy.should_abort_for_time(time.monotonic() - started, timeout)
            if not aborted and (late or tracker.is_cancelled(migration.id)):
                aborted = True
                LOG.warning(
                    "migration %s: aborting (%s)", migration.id, "timeout" if late else "cancelled"
                )
                try:
                    svc.agents.live_migration_abort(data.source_host, data.instance_uuid)
                except errors.VirtfleetError as exc:
                    LOG.warning("migration %s: abort failed: %s", migration.id, exc)


def record_progress(
    svc: Services, migration: records.Migration, data: LibvirtLiveMigrateData
) -> None:
    """The source's progress -> the record; the server's task touched (still alive)."""
    try:
        progress = svc.agents.live_migration_progress(data.source_host, data.instance_uuid)
        records.update(svc.db, migration.id, **policy.progress_fields(progress.as_dict()))
        service.request(svc.db, data.instance_uuid, "migration_progress")
    except errors.VirtfleetError as exc:
        LOG.debug("migration %s: no progress: %s", migration.id, exc)
