"""The agent's reaping of orphaned domains: guests virtfleet left on this host whose
server was deleted while the host was down (or is unknown, or lives elsewhere now).

The agent lists the domains it owns — a ``vf-`` name, virtfleet's ``<vf:instance>``
metadata naming the domain's own uuid, and an instance directory inside this agent's
instances path — and asks the conductor which should not be here
(:mod:`virtfleet.conductor.orphans`). ``[compute] orphan_domain_action`` says what
happens to them: ``reap`` destroys and undefines the domain and removes its instance
directory, except a directory that is shared (with the host the server lives on) or
holds the marker of a migration that prepared it for another host — then only the
domain goes; ``log`` warns; ``noop`` does not look.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from typing import Literal, Protocol

from lxml import etree

from virtfleet import errors
from virtfleet.objects.rpc_results import OrphanDomain
from virtfleet.virt.libvirt import config
from virtfleet.virt.libvirt import migration as policy

LOG = logging.getLogger(__name__)

MARKER_PREFIX = policy.marker_name("")

REAP, LOG_ONLY, NOOP = "reap", "log", "noop"

Reason = Literal["deleted", "unknown", "elsewhere"]
REASONS: dict[str, Reason] = {"deleted": "deleted", "unknown": "unknown", "elsewhere": "elsewhere"}


@dataclasses.dataclass(frozen=True)
class Orphan:
    """A domain that should not be on the asking host, and what the agent needs to
    decide about its files."""

    uuid: str
    reason: Reason
    recorded_host: str | None = None  # where the server lives (reason "elsewhere")
    own_migrations: tuple[str, ...] = ()  # migrations that came to this host

    def as_object(self) -> OrphanDomain:
        """How it crosses the wire (``conductor.orphan_domains``)."""
        return OrphanDomain(
            uuid=self.uuid,
            reason=self.reason,
            recorded_host=self.recorded_host,
            own_migrations=list(self.own_migrations),
        )

    @classmethod
    def from_object(cls, item: OrphanDomain) -> Orphan:
        reason = REASONS.get(item.reason)
        if reason is None:
            raise errors.InvalidInput(
                f"orphan reason must be deleted/unknown/elsewhere: {item.reason!r}"
            )
        return cls(
            uuid=item.uuid,
            reason=reason,
            recorded_host=item.recorded_host,
            own_migrations=tuple(item.own_migrations),
        )


class OwnedDriver(Protocol):
    """What the reaper needs of the driver."""

    def list_instance_uuids(self) -> list[str]: ...
    def get_domain_xml(self, instance_uuid: str) -> str: ...
    def get_power_state(self, instance_uuid: str) -> str: ...
    def destroy(self, instance_uuid: str, remove_files: bool = ...) -> None: ...


def inside(path: str, directory: str) -> bool:
    """Whether ``path`` is ``directory`` or below it (paths normalised, not resolved)."""
    path, directory = os.path.normpath(path), os.path.normpath(directory)
    return path == directory or path.startswith(directory + os.sep)


def owned_domains(driver: OwnedDriver, instances_path: str) -> dict[str, str]:
    """uuid -> instance directory of the domains virtfleet owns here (see the module
    docstring); anything else on the hypervisor is not virtfleet's."""
    owned: dict[str, str] = {}
    for uuid in driver.list_instance_uuids():
        try:
            meta = config.Domain.parse(driver.get_domain_xml(uuid)).instance
        except errors.NotFound:
            continue  # gone meanwhile
        except (errors.VirtfleetError, etree.LxmlError, ValueError) as exc:
            LOG.debug("domain %s: unreadable XML, not virtfleet's: %s", uuid, exc)
            continue
        if meta is None or (meta.uuid or "").lower() != uuid.lower():
            continue
        directory = meta.instance_dir
        if directory and inside(directory, instances_path):
            owned[uuid] = directory
    return owned


def foreign_markers(directory: str, own_migrations: tuple[str, ...]) -> list[str]:
    """Migration markers in ``directory`` left by migrations to another host (the
    directory is then the one that host prepared: shared)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(
        name
        for name in names
        if name.startswith(MARKER_PREFIX) and name[len(MARKER_PREFIX) :] not in own_migrations
    )


SharedCheck = Callable[[str], bool | None]
"""recorded host -> whether it shares this host's instances path (None: cannot tell)."""


class SharingUnknownError(Exception):
    """Whether the directory is shared cannot be told now: reap at a later report."""


def why_keep_files(orphan: Orphan, directory: str, shared_with: SharedCheck) -> str | None:
    """Why the orphan's instance directory must stay (None: it may be removed).
    Raises SharingUnknownError when the host the server lives on cannot be asked."""
    if os.path.basename(os.path.normpath(directory)) != orphan.uuid:
        return f"{directory} is not named after the instance"
    markers = foreign_markers(directory, orphan.own_migrations)
    if markers:
        return f"{directory} holds {markers[0]}, a migration marker of another host (shared)"
    if orphan.reason == "elsewhere" and orphan.recorded_host:
        shared = shared_with(orphan.recorded_host)
        if shared is None:
            raise SharingUnknownError(
                f"cannot ask {orphan.recorded_host} whether it shares {directory}"
            )
        if shared:
            return f"{directory} is shared with {orphan.recorded_host}, where the server lives"
    return None


def describe(orphan: Orphan) -> str:
    if orphan.reason == "deleted":
        return "its server was deleted"
    if orphan.reason == "unknown":
        return "no server has its uuid"
    where = orphan.recorded_host or "no host"
    return f"its server is on {where} and no migration involving this host is in progress"


def handle_orphans(
    host: str,
    action: str,
    driver: OwnedDriver,
    owned: dict[str, str],
    found: list[Orphan],
    shared_with: SharedCheck,
) -> list[str]:
    """Apply ``action`` to the orphans ``found`` among ``owned``; returns the uuids
    reaped (``reap``) or warned about (``log``, and domains of unknown servers, which
    are only ever warned about)."""
    handled: list[str] = []
    for orphan in found:
        directory = owned.get(orphan.uuid)
        if directory is None:
            continue  # the conductor answered about a domain we did not ask for
        if orphan.reason == "unknown":
            # No record at all, not even a deleted one: perhaps a database restored
            # from an older backup. Destroying a guest on that evidence is too bold.
            LOG.warning(
                "host %s: domain of %s belongs to no server the control plane knows; "
                "left alone (virtfleet never reaps a domain it has no record of)",
                host, orphan.uuid,
            )  # fmt: skip
            handled.append(orphan.uuid)
            continue
        if action != REAP:
            LOG.warning(
                "host %s: domain of %s should not be here (%s); left alone "
                "([compute] orphan_domain_action = %s)",
                host, orphan.uuid, describe(orphan), action,
            )  # fmt: skip
            handled.append(orphan.uuid)
            continue
        if _reap(host, driver, orphan, directory, shared_with):
            handled.append(orphan.uuid)
    return handled


def _reap(
    host: str, driver: OwnedDriver, orphan: Orphan, directory: str, shared_with: SharedCheck
) -> bool:
    try:
        driver.get_power_state(orphan.uuid)
    except errors.NotFound:
        return False  # gone since it was listed (e.g. migrated away)
    try:
        keep = why_keep_files(orphan, directory, shared_with)
    except SharingUnknownError as exc:  # reaping now could leave its files for good
        LOG.warning("host %s: orphaned domain of %s left for now: %s", host, orphan.uuid, exc)
        return False
    try:
        driver.destroy(orphan.uuid, remove_files=keep is None)
    except errors.VirtfleetError as exc:
        LOG.warning("host %s: could not reap the domain of %s: %s", host, orphan.uuid, exc)
        return False
    files = f"files kept: {keep}" if keep else f"{directory} removed"
    LOG.warning(
        "host %s: reaped the orphaned domain of %s (%s); %s",
        host, orphan.uuid, describe(orphan), files,
    )  # fmt: skip
    return True


def as_orphans(reply: list[OrphanDomain]) -> list[Orphan]:
    """The conductor's reply as orphans (InvalidInput when it is malformed)."""
    return [Orphan.from_object(item) for item in reply]
