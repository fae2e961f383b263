"""What a move needs from the rest of the control plane: narrow protocols for the
scheduler and placement, and the agents reached over RPC."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from oslo_config import cfg

from virtfleet.agent.rpcapi import ComputeClient
from virtfleet.db.engine import Database
from virtfleet.network.server_ports import ServerPorts
from virtfleet.placement.types import ConsumerAllocations, ConsumerRequest
from virtfleet.rpc import Transport
from virtfleet.scheduler.manager import Selection
from virtfleet.scheduler.resource_request import RequestSpec

#: Runs ``work(instance_uuid)`` in the background, one workflow per server at a time.
Submit = Callable[[str, Callable[[str], None], str], None]


class MigrationScheduler(Protocol):
    """The scheduler as moves use it: candidates, and dropping a consumer's allocation."""

    def select_destinations(
        self, spec: RequestSpec, max_results: int | None = None
    ) -> list[Selection]: ...
    def unclaim(self, instance_uuid: str) -> None: ...


class MigrationPlacement(Protocol):
    """Placement as moves use it: read a consumer's allocations, write several at once."""

    def get_consumer_allocations(self, consumer_uuid: str) -> ConsumerAllocations: ...
    def replace_many(self, requests: dict[str, ConsumerRequest]) -> None: ...


@dataclasses.dataclass(frozen=True)
class Services:
    """The configuration, database, placement, scheduler and agents of one control plane."""

    conf: cfg.ConfigOpts
    db: Database
    placement: MigrationPlacement
    scheduler: MigrationScheduler
    agents: ComputeClient
    networks: ServerPorts | None = None  # the guests' ports; None: no networking

    @classmethod
    def build(
        cls,
        conf: cfg.ConfigOpts,
        db: Database,
        placement: MigrationPlacement,
        scheduler: MigrationScheduler,
        transport: Transport,
        networks: ServerPorts | None = None,
    ) -> Services:
        """Services whose agent calls wait ``[DEFAULT] rpc_response_timeout``."""
        agents = ComputeClient(transport, timeout=conf.rpc_response_timeout)
        return cls(conf, db, placement, scheduler, agents, networks)
