"""What the Compute API needs from the rest of the system, as one small dataclass.

The conductor runs the workflows: every method returns as soon as the work is handed
over (``build_server`` and friends are asynchronous); the API has already set the
server's task state. ``get_console_output`` and ``get_domain_xml`` answer synchronously.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from oslo_config import cfg
from sqlalchemy import Connection

from virtfleet.conductor.shelve import Unshelve
from virtfleet.db.engine import Database
from virtfleet.db.migration_records import Migration
from virtfleet.image.service import ImageService
from virtfleet.network.server_ports import ServerPorts
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.rescue_device import RescueDevice
from virtfleet.objects.rpc_results import ConsoleEndpoint
from virtfleet.placement.service import PlacementService
from virtfleet.quota.limits import Quotas
from virtfleet.scheduler.explain import Explanation
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.scheduler.weighers import WeigherScore


class ConductorAPI(Protocol):
    """The conductor as the Compute API calls it (implemented by the conductor)."""

    def build_server(self, uuid: str) -> None: ...

    def delete_server(self, uuid: str) -> None: ...

    def stop_server(self, uuid: str) -> None: ...

    def start_server(self, uuid: str) -> None: ...

    def reboot_server(self, uuid: str, hard: bool) -> None: ...

    def server_action(self, uuid: str, action: str) -> None:
        """``pause``, ``unpause``, ``suspend`` or ``resume`` (asynchronous)."""
        ...

    def rescue_server(self, uuid: str, image_id: str, device: RescueDevice | None = None) -> None:
        """Boot the guest from image ``image_id``: its first disk, its own second, or
        with ``device`` attached as that device beside its own disks (asynchronous)."""
        ...

    def unrescue_server(self, uuid: str) -> None:
        """Boot the rescued guest from its own disk again (asynchronous)."""
        ...

    def snapshot_server(self, uuid: str, image_id: str) -> None:
        """Upload the guest's root disk as image ``image_id`` (asynchronous)."""
        ...

    def get_console_output(self, uuid: str, length: int | None) -> str: ...

    def get_domain_xml(self, uuid: str) -> str: ...

    def get_console(self, uuid: str, kind: str) -> ConsoleEndpoint: ...

    def set_admin_password(self, uuid: str, password: str) -> None: ...


class ConsoleUrls(Protocol):
    """The console proxy as the Compute API needs it (``api.console.proxy``): the URL
    of a token, and how long tokens live."""

    @property
    def token_ttl(self) -> int: ...

    def url(self, console_type: str, token: str) -> str: ...


class LiveMigrationWorkflows(Protocol):
    """The conductor's live-migration workflows (``Conductor.live_migrations``)."""

    def start(
        self, instance_uuid: str, host: str | None, block_migration: bool | str, force: bool
    ) -> Migration: ...
    def abort(self, instance_uuid: str, migration_id: int) -> None: ...
    def force_complete(self, instance_uuid: str, migration_id: int) -> None: ...


class _HasLiveMigrations(Protocol):
    live_migrations: LiveMigrationWorkflows


class ColdMoveWorkflows(Protocol):
    """The conductor's cold migrations and resizes (``Conductor.cold_moves``)."""

    def start(
        self,
        instance_uuid: str,
        host: str | None,
        new_flavor: dict[str, Any] | None = None,
        new_guest_request: GuestRequest | None = None,
        admit: Callable[[Connection], None] | None = None,
    ) -> Migration: ...
    def waiting(self, instance_uuid: str) -> Migration: ...
    def confirm(self, instance_uuid: str) -> None: ...
    def revert(self, instance_uuid: str) -> None: ...


class _HasColdMoves(Protocol):
    cold_moves: ColdMoveWorkflows


class ShelveWorkflows(Protocol):
    """The conductor's shelve workflows (``Conductor.shelving``), asynchronous."""

    def shelve(self, uuid: str, image_id: str) -> None: ...
    def shelve_offload(self, uuid: str) -> None: ...
    def unshelve(self, uuid: str, where: Unshelve) -> None: ...


class _HasShelving(Protocol):
    shelving: ShelveWorkflows


class EvacuationWorkflows(Protocol):
    """The conductor's evacuations (``Conductor.evacuations``)."""

    def start(
        self,
        instance_uuid: str,
        host: str | None,
        stop: bool = False,
        on_shared_storage: bool | None = None,
    ) -> Migration: ...


class _HasEvacuations(Protocol):
    evacuations: EvacuationWorkflows


class RebuildWorkflows(Protocol):
    """The conductor's rebuilds (``Conductor.rebuilds``)."""

    def start(self, instance_uuid: str, changes: Mapping[str, Any]) -> None: ...


class _HasRebuilds(Protocol):
    rebuilds: RebuildWorkflows


class Selected(Protocol):
    """A chosen host as the scheduler returns it."""

    @property
    def host(self) -> str: ...

    @property
    def weight(self) -> float: ...


class SchedulerAPI(Protocol):
    """What os-scheduler-explain needs of :class:`virtfleet.scheduler.manager.Scheduler`."""

    def weighed_destinations(
        self, spec: RequestSpec, max_results: int | None = None
    ) -> Sequence[tuple[Selected, Sequence[WeigherScore]]]: ...

    def explain(self, spec: RequestSpec) -> Explanation: ...


@dataclass(frozen=True)
class ComputeDeps:
    """Dependencies of :func:`virtfleet.api.compute.make_compute_app`."""

    db: Database
    placement: PlacementService
    conductor: ConductorAPI
    images: ImageService
    # With it, server create also runs the scheduler's enabled prefilters (400s).
    conf: cfg.ConfigOpts | None = None
    # For os-scheduler-explain (a dry run of the scheduler).
    scheduler: SchedulerAPI | None = None
    # The control server whose conductor runs this API's workflows: recorded as the
    # owner of every task the API starts (see virtfleet.conductor.membership).
    owner: str | None = None
    # Servers' ports (boots with networks, addresses); None: no networking.
    networks: ServerPorts | None = None
    # The console proxy handing out console URLs; None: consoles are unavailable.
    consoles: ConsoleUrls | None = None
    # Quotas (Keystone unified limits); None: no quotas.
    quota: Quotas | None = None

    @property
    def live_migrations(self) -> LiveMigrationWorkflows:
        """The conductor's live-migration workflows."""
        return cast(_HasLiveMigrations, self.conductor).live_migrations

    @property
    def cold_moves(self) -> ColdMoveWorkflows:
        """The conductor's cold migrations and resizes."""
        return cast(_HasColdMoves, self.conductor).cold_moves

    @property
    def shelving(self) -> ShelveWorkflows:
        """The conductor's shelve, shelve-offload and unshelve."""
        return cast(_HasShelving, self.conductor).shelving

    @property
    def evacuations(self) -> EvacuationWorkflows:
        """The conductor's evacuations."""
        return cast(_HasEvacuations, self.conductor).evacuations

    @property
    def rebuilds(self) -> RebuildWorkflows:
        """The conductor's rebuilds."""
        return cast(_HasRebuilds, self.conductor).rebuilds
