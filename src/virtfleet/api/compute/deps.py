"""What the Compute API needs from the rest of the system, as one small dataclass.

The conductor runs the workflows: every method returns as soon as the work is handed
over (``build_server`` and friends are asynchronous); the API has already set the
server's task state. ``get_console_output`` and ``get_domain_xml`` answer synchronously.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from oslo_config import cfg

from virtfleet.db.engine import Database
from virtfleet.image.service import ImageService
from virtfleet.placement.service import PlacementService

if TYPE_CHECKING:
    from virtfleet.api.compute.explain import SchedulerAPI


class ConductorAPI(Protocol):
    """The conductor as the Compute API calls it (implemented by the conductor)."""

    def build_server(self, uuid: str) -> None: ...

    def delete_server(self, uuid: str) -> None: ...

    def stop_server(self, uuid: str) -> None: ...

    def start_server(self, uuid: str) -> None: ...

    def reboot_server(self, uuid: str, hard: bool) -> None: ...

    def get_console_output(self, uuid: str, length: int | None) -> str: ...

    def get_domain_xml(self, uuid: str) -> str: ...


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
