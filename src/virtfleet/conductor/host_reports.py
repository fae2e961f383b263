"""Server side of host reporting: a HostReport -> compute node row + placement tree.

:meth:`HostReporter.report_host` upserts the compute node, then makes placement match
the report: providers created (root uuid = the compute node uuid, stable per host
name) or renamed/re-parented, inventories written only when they changed, traits set
to the reported set plus the ones an operator set (the agent owns only the traits it
reported last: ``db/reported_traits.py``), and providers the report no longer has removed — unless
they (or their descendants) still have allocations, which is reported back as a
warning and logged. Every write that loses a generation race is re-read and retried.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from virtfleet import errors
from virtfleet.conductor.provider_tree import (
    PlannedProvider,
    ancestors,
    plan_tree,
    stale_providers,
)
from virtfleet.db import hosts, reported_traits
from virtfleet.db.engine import Database
from virtfleet.objects.host_report import HostReport
from virtfleet.objects.rpc_results import HostReportReceipt
from virtfleet.placement.types import Inventory, Provider

LOG = logging.getLogger(__name__)

T = TypeVar("T")

MAX_RETRIES = 10


class PlacementForReports(Protocol):
    """The part of PlacementService host reporting uses."""

    def get_provider(self, uuid: str) -> Provider: ...
    def create_provider(
        self, name: str, uuid: str | None = None, parent_uuid: str | None = None
    ) -> Provider: ...
    def update_provider(
        self, uuid: str, name: str, parent_uuid: str | None, generation: int | None = None
    ) -> Provider: ...
    def delete_provider(self, uuid: str) -> None: ...
    def list_providers(self, *, in_tree: str | None = None) -> list[Provider]: ...
    def get_inventories(self, uuid: str) -> tuple[int, Mapping[str, Inventory]]: ...
    def set_inventories(
        self, uuid: str, generation: int, inventories: Mapping[str, Inventory]
    ) -> int: ...
    def get_provider_traits(self, uuid: str) -> tuple[int, set[str]]: ...
    def set_provider_traits(self, uuid: str, generation: int, traits: Any) -> int: ...
    def ensure_trait(self, name: str) -> Any: ...
    def ensure_resource_class(self, name: str) -> Any: ...
    def provider_usages(self, uuid: str) -> tuple[int, Mapping[str, int]]: ...


@dataclasses.dataclass(frozen=True)
class ReportOutcome:
    """What a report did: the host record and anything that could not be applied."""

    host: hosts.HostRecord
    provider_uuids: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def as_receipt(self) -> HostReportReceipt:
        """The RPC reply."""
        return HostReportReceipt(
            uuid=self.host.uuid,
            providers=list(self.provider_uuids),
            warnings=list(self.warnings),
        )


def retry_on_conflict(action: Callable[[], T], what: str, attempts: int = MAX_RETRIES) -> T:
    """Run ``action`` again (it re-reads generations) while it loses generation races."""
    for _ in range(attempts - 1):
        try:
            return action()
        except errors.ConcurrentUpdate:
            LOG.debug("generation conflict while %s; retrying", what)
    try:
        return action()
    except errors.ConcurrentUpdate as exc:
        raise errors.ConcurrentUpdate(
            f"{what}: still conflicting after {attempts} attempts: {exc}"
        ) from None


def _cpu_info(report: HostReport) -> dict[str, Any]:
    info = report.cpu_info
    return {
        name: (dict(value) if isinstance(value, dict) else value)
        for name, value in info.as_dict().items()
    }


def _tunnel_address(report: HostReport) -> str | None:
    """The host's VXLAN endpoint (a report older than 1.1 has none)."""
    if report.obj_attr_is_set("tunnel_address") and report.tunnel_address:
        return str(report.tunnel_address)
    return None


class HostReporter:
    """Applies host reports to the compute nodes table and placement."""

    def __init__(self, db: Database, placement: PlacementForReports) -> None:
        self._db = db
        self._placement = placement

    def report_host(self, report: HostReport) -> ReportOutcome:
        """Record ``report`` and make placement match it (see the module docstring)."""
        root_uuid = hosts.host_uuid(report.host)
        planned = plan_tree(report, root_uuid)  # validates before anything is written
        record = hosts.upsert_host(
            self._db, report, _cpu_info(report), tunnel_address=_tunnel_address(report)
        )
        if record.uuid != root_uuid:  # a row from before uuids were derived from names
            planned = plan_tree(report, record.uuid)
        warnings: list[str] = []
        for provider in planned:
            self._ensure_provider(provider)
            warning = self._sync_inventories(provider)
            if warning:
                warnings.append(warning)
            self._sync_traits(provider)
        warnings.extend(self._remove_stale(record.uuid, {p.uuid for p in planned}))
        for warning in warnings:
            LOG.warning("host %s: %s", report.host, warning)
        return ReportOutcome(record, tuple(p.uuid for p in planned), tuple(warnings))

    def _ensure_provider(self, planned: PlannedProvider) -> None:
        placement = self._placement
        try:
            current = placement.get_provider(planned.uuid)
        except errors.NotFound:
            try:
                placement.create_provider(planned.name, planned.uuid, planned.parent_uuid)
            except errors.Conflict as exc:
                raise errors.Conflict(
                    f"cannot create resource provider {planned.name!r} ({planned.uuid}): {exc}"
                ) from None
            return
        if (current.name, current.parent_uuid) != (planned.name, planned.parent_uuid):

            def update() -> Provider:
                latest = placement.get_provider(planned.uuid)
                return placement.update_provider(
                    planned.uuid, planned.name, planned.parent_uuid, latest.generation
                )

            retry_on_conflict(update, f"updating provider {planned.name}")

    def _sync_inventories(self, planned: PlannedProvider) -> str | None:
        placement = self._placement
        for rc in planned.inventories:
            if rc.startswith("CUSTOM_"):
                placement.ensure_resource_class(rc)

        def sync() -> None:
            generation, current = placement.get_inventories(planned.uuid)
            if dict(current) != dict(planned.inventories):
                placement.set_inventories(planned.uuid, generation, planned.inventories)

        try:
            retry_on_conflict(sync, f"setting inventories of {planned.name}")
        except errors.ConcurrentUpdate:
            raise
        except errors.Conflict as exc:  # shrinking below what is allocated
            return f"inventories of provider {planned.name} not updated: {exc}"
        return None

    def _sync_traits(self, planned: PlannedProvider) -> None:
        placement = self._placement
        for trait in sorted(planned.traits):
            if trait.startswith("CUSTOM_"):
                placement.ensure_trait(trait)

        last = reported_traits.last_reported(self._db, planned.uuid)

        def sync() -> None:
            generation, current = placement.get_provider_traits(planned.uuid)
            # Before a first recorded report every trait counts as the agent's.
            operators = set(current) - (set(current) if last is None else last)
            wanted = operators | set(planned.traits)
            if set(current) != wanted:
                placement.set_provider_traits(planned.uuid, generation, sorted(wanted))

        retry_on_conflict(sync, f"setting traits of {planned.name}")
        if last != planned.traits:
            reported_traits.record(self._db, planned.uuid, planned.traits)

    def _remove_stale(self, root_uuid: str, reported: set[str]) -> list[str]:
        placement = self._placement
        existing = placement.list_providers(in_tree=root_uuid)
        by_uuid = {p.uuid: p for p in existing}
        kept: set[str] = set()
        warnings: list[str] = []
        for provider in stale_providers(existing, reported):
            if provider.uuid in kept:
                continue  # an allocated descendant keeps it
            _, usages = placement.provider_usages(provider.uuid)
            used = {rc: n for rc, n in usages.items() if n}
            if used:
                kept.update(ancestors(provider, by_uuid))
                amounts = ", ".join(f"{rc}={n}" for rc, n in sorted(used.items()))
                warnings.append(
                    f"provider {provider.name} ({provider.uuid}) is no longer reported but "
                    f"still has allocations ({amounts}); not removing it"
                )
                continue
            try:
                placement.delete_provider(provider.uuid)
            except errors.NotFound:
                continue
            except errors.Conflict as exc:
                kept.update(ancestors(provider, by_uuid))
                warnings.append(f"provider {provider.name} ({provider.uuid}) not removed: {exc}")
        return warnings
