"""Structured results of agent and conductor RPC calls (see
:mod:`virtfleet.agent.rpcapi`), as versioned objects so they cross the wire typed.

* :class:`HostReportReceipt` — ``conductor.report_host``: what the report did.
* :class:`OrphanDomain` — ``conductor.orphan_domains``: a domain that should not be
  on the asking host.
* :class:`MigrationProgress` — ``compute.live_migration_progress``: bytes copied.
* :class:`GuestWhereabouts` — ``compute.live_migration_whereabouts``: the guest's
  state on one host, for the recovery of an interrupted migration.
* :class:`ConsoleEndpoint` — ``compute.get_console``: where the console proxy reaches
  a guest's console (the agent's one-connection relay) and the secret it sends first.
* :class:`DiskOffer` — ``compute.offer_resize_disk``: where a cold migration's
  destination pulls the kept root disk from the source, with what, and its checksum.
* :class:`EvacuatedGuest` — ``conductor.evacuated_guests``: a guest evacuated from the
  asking host, which it must remove rather than start.
"""

from __future__ import annotations

from oslo_versionedobjects import fields

from virtfleet.objects.base import register
from virtfleet.objects.defaults import DefaultedObject

ORPHAN_REASONS = ("deleted", "unknown", "elsewhere")


@register
class HostReportReceipt(DefaultedObject):
    """The conductor's answer to a host report."""

    # Version 1.0: initial version (a plain dict before RPC API 1.1)
    VERSION = "1.0"

    fields = {
        "uuid": fields.UUIDField(),  # the compute node's (and root provider's) uuid
        "providers": fields.ListOfStringsField(default=[]),  # every provider's uuid
        "warnings": fields.ListOfStringsField(default=[]),  # what could not be applied
    }

    uuid: str
    providers: list[str]
    warnings: list[str]


@register
class OrphanDomain(DefaultedObject):
    """A domain that should not be on the asking host, and why."""

    # Version 1.0: initial version (a plain dict before RPC API 1.1)
    VERSION = "1.0"

    fields = {
        "uuid": fields.UUIDField(),
        "reason": fields.EnumField(valid_values=ORPHAN_REASONS),
        # where the server lives (reason "elsewhere")
        "recorded_host": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        # migrations that came to the asking host
        "own_migrations": fields.ListOfStringsField(default=[]),
    }

    uuid: str
    reason: str
    recorded_host: str | None
    own_migrations: list[str]


@register
class MigrationProgress(DefaultedObject):
    """Bytes of a running live migration (all 0 before its job shows up)."""

    # Version 1.0: initial version (a plain dict before RPC API 1.1)
    VERSION = "1.0"

    fields = {
        "memory_total": fields.NonNegativeIntegerField(default=0),
        "memory_processed": fields.NonNegativeIntegerField(default=0),
        "memory_remaining": fields.NonNegativeIntegerField(default=0),
        "disk_total": fields.NonNegativeIntegerField(default=0),
        "disk_processed": fields.NonNegativeIntegerField(default=0),
        "disk_remaining": fields.NonNegativeIntegerField(default=0),
    }

    memory_total: int
    memory_processed: int
    memory_remaining: int
    disk_total: int
    disk_processed: int
    disk_remaining: int


@register
class GuestWhereabouts(DefaultedObject):
    """A guest on one host: its domain's power state (None: no domain there) and
    whether a migration job of it runs."""

    # Version 1.0: initial version (a plain dict before RPC API 1.1)
    VERSION = "1.0"

    fields = {
        "state": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "job_active": fields.BooleanField(default=False),
    }

    state: str | None
    job_active: bool


CONSOLE_KINDS = ("serial", "vnc")


@register
class ConsoleEndpoint(DefaultedObject):
    """A guest console's relay on its host: the proxy connects to ``host``:``port``
    and sends ``secret`` and a newline first."""

    # Version 1.0: initial version (RPC API 1.3)
    VERSION = "1.0"

    fields = {
        "kind": fields.EnumField(valid_values=CONSOLE_KINDS),
        "host": fields.StringField(),
        "port": fields.IntegerField(),
        "secret": fields.StringField(),
    }

    kind: str
    host: str
    port: int
    secret: str


@register
class DiskOffer(DefaultedObject):
    """A file a source agent serves once (a kept root disk): the destination GETs
    ``url`` with ``token``, and keeps the file only when it has ``size`` bytes with
    SHA-256 ``sha256``."""

    # Version 1.0: initial version (RPC API 1.10)
    VERSION = "1.0"

    fields = {
        "url": fields.StringField(),
        "token": fields.StringField(),
        "size": fields.IntegerField(),
        "sha256": fields.StringField(),
    }

    url: str
    token: str
    size: int
    sha256: str


@register
class EvacuatedGuest(DefaultedObject):
    """A guest evacuated from the asking host while it was down: its migration, and
    the host it was rebuilt on (None: not chosen yet)."""

    # Version 1.0: initial version (RPC API 1.11)
    VERSION = "1.0"

    fields = {
        "migration_uuid": fields.UUIDField(),
        "instance_uuid": fields.UUIDField(),
        "dest_host": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
    }

    migration_uuid: str
    instance_uuid: str
    dest_host: str | None
