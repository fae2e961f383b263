"""The agent's removal of guests evacuated from its host while it was down (Nova's
``_destroy_evacuated_instances``): at every report, before the guests' power states
are sent, the agent asks the conductor which guests were evacuated from here, removes
each one's domain (never starts it) and, unless the host it was rebuilt on shares
this host's instances path, its directory with the local disk; then it tells the
conductor, which frees the evacuations' source allocations.

A guest whose destination cannot be asked about shared storage is left for the next
report (removing a shared directory would take the rebuilt guest's disk with it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from virtfleet import errors
from virtfleet.objects.rpc_results import EvacuatedGuest

LOG = logging.getLogger(__name__)

SharedCheck = Callable[[str], bool | None]
"""destination host -> whether it shares this host's instances path (None: unknown)."""


class EvacuationConductor(Protocol):
    """The two conductor calls of the clean-up."""

    def evacuated_guests(self, host: str) -> list[EvacuatedGuest]: ...
    def evacuated_guests_removed(self, host: str, migration_uuids: list[str]) -> list[str]: ...


class RemovingDriver(Protocol):
    """What the clean-up needs of the driver."""

    def list_instance_uuids(self) -> list[str]: ...
    def destroy(self, instance_uuid: str, remove_files: bool = ...) -> None: ...


Forget = Callable[[str], None]
"""instance uuid -> drop what the agent holds for it (ports plugged, image users)."""


def remove_evacuated(
    host: str,
    conductor: EvacuationConductor,
    driver: RemovingDriver,
    shared_with: SharedCheck,
    forget: Forget,
) -> list[str]:
    """Remove the guests evacuated from ``host``; returns the migration uuids whose
    guest is gone from here (reported to the conductor)."""
    guests = conductor.evacuated_guests(host)
    if not guests:
        return []
    present = set(driver.list_instance_uuids())
    removed: list[str] = []
    for guest in guests:
        if _remove(host, guest, guest.instance_uuid in present, driver, shared_with):
            forget(guest.instance_uuid)
            removed.append(guest.migration_uuid)
    if removed:
        conductor.evacuated_guests_removed(host, removed)
    return removed


def _remove(
    host: str,
    guest: EvacuatedGuest,
    has_domain: bool,
    driver: RemovingDriver,
    shared_with: SharedCheck,
) -> bool:
    uuid = guest.instance_uuid
    shared = shared_with(guest.dest_host) if guest.dest_host else False
    if shared is None:
        LOG.warning("host %s: evacuated guest %s left for now: cannot ask %s whether it "
                    "shares the instance directory", host, uuid, guest.dest_host)  # fmt: skip
        return False
    if not has_domain and shared:
        return True  # nothing of it here that is not the destination's too
    try:
        driver.destroy(uuid, remove_files=not shared)
    except errors.VirtfleetError as exc:
        LOG.warning("host %s: could not remove evacuated guest %s: %s", host, uuid, exc)
        return False
    LOG.warning(
        "host %s: guest %s was evacuated to %s while this host was down: its domain "
        "removed, %s",
        host, uuid, guest.dest_host or "another host",
        "its files kept (shared with the destination)" if shared else "its files removed",
    )  # fmt: skip
    return True
