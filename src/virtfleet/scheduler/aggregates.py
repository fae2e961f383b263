"""Host aggregates and availability zones: the operator's grouping of hosts, kept
in placement as Nova keeps it.

:class:`AggregateService` is the one door for changes: a host added to an aggregate
makes its compute node's root provider a member of the placement aggregate with the
aggregate's uuid (and removing it takes that away), so the prefilters of
:mod:`.prefilters` can ask placement for ``member_of`` an availability zone's or a
project's aggregates. A host is in at most one availability zone; hosts in no zone
aggregate are in :data:`DEFAULT_ZONE`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from virtfleet import errors
from virtfleet.db import aggregates as aggregate_db
from virtfleet.db import hosts as host_db
from virtfleet.db.aggregates import ZONE_KEY, Aggregate
from virtfleet.db.engine import Database

#: The zone of hosts in no availability-zone aggregate (Nova's default_availability_zone).
DEFAULT_ZONE = "nova"

#: Tries of a provider aggregate write that lost a generation race.
MIRROR_ATTEMPTS = 10


class ProviderAggregates(Protocol):
    """What mirroring needs of :class:`~virtfleet.placement.service.PlacementService`."""

    def get_provider_aggregates(self, uuid: str) -> tuple[int, set[str]]: ...

    def set_provider_aggregates(
        self, uuid: str, generation: int | None, aggregates: Iterable[str]
    ) -> object: ...


def zones(aggregates: Iterable[Aggregate]) -> dict[str, list[Aggregate]]:
    """Availability zone -> the aggregates that name it."""
    found: dict[str, list[Aggregate]] = {}
    for aggregate in aggregates:
        if aggregate.availability_zone:
            found.setdefault(aggregate.availability_zone, []).append(aggregate)
    return found


def zone_of(host: str, aggregates: Iterable[Aggregate]) -> str:
    """The availability zone of ``host``."""
    for aggregate in aggregates:
        if aggregate.availability_zone and host in aggregate.hosts:
            return aggregate.availability_zone
    return DEFAULT_ZONE


class AggregateService:
    """Aggregate changes, checked and mirrored into placement."""

    def __init__(self, db: Database, placement: ProviderAggregates) -> None:
        self._db = db
        self._placement = placement

    def create(self, name: str, zone: str | None) -> Aggregate:
        _check_zone_name(zone)
        return aggregate_db.create(self._db, name, {ZONE_KEY: zone} if zone else {})

    def update(self, aggregate_id: int, name: str | None, zone: str | None) -> Aggregate:
        current = aggregate_db.get(self._db, aggregate_id)
        metadata = None
        if zone is not None:
            _check_zone_name(zone)
            self._check_hosts_zone(current, zone)
            metadata = {**current.metadata, ZONE_KEY: zone}
        return aggregate_db.update_fields(self._db, aggregate_id, name=name, metadata=metadata)

    def set_metadata(self, aggregate_id: int, changes: Mapping[str, str | None]) -> Aggregate:
        """Merge ``changes`` into the metadata (None removes a key)."""
        current = aggregate_db.get(self._db, aggregate_id)
        metadata = dict(current.metadata)
        for key, value in changes.items():
            if value is None:
                metadata.pop(key, None)
            else:
                metadata[key] = value
        zone = metadata.get(ZONE_KEY)
        if zone != current.availability_zone and zone is not None:
            _check_zone_name(zone)
            self._check_hosts_zone(current, zone)
        return aggregate_db.update_fields(self._db, aggregate_id, metadata=metadata)

    def delete(self, aggregate_id: int) -> None:
        current = aggregate_db.get(self._db, aggregate_id)
        if current.hosts:
            raise errors.InvalidInput(
                f"Cannot delete aggregate {current.name}: it still has hosts "
                f"({', '.join(current.hosts)}); remove them first."
            )
        aggregate_db.delete_aggregate(self._db, aggregate_id)

    def add_host(self, aggregate_id: int, host: str) -> Aggregate:
        current = aggregate_db.get(self._db, aggregate_id)
        node = host_db.get_host_by_name(self._db, host)  # NotFound names the host
        if current.availability_zone:
            others = aggregate_db.list_all(self._db)
            zone = zone_of(host, [a for a in others if a.id != aggregate_id])
            if zone not in (DEFAULT_ZONE, current.availability_zone):
                raise errors.InvalidInput(
                    f"Cannot add host {host} to aggregate {current.name}: the host is in "
                    f"availability zone {zone}, the aggregate in {current.availability_zone}; "
                    "a host is in one zone only."
                )
        aggregate_db.add_host(self._db, aggregate_id, host)
        try:
            self._mirror(node.uuid, add=current.uuid)
        except errors.VirtfleetError:
            aggregate_db.remove_host(self._db, aggregate_id, host)
            raise
        return aggregate_db.get(self._db, aggregate_id)

    def remove_host(self, aggregate_id: int, host: str) -> Aggregate:
        current = aggregate_db.get(self._db, aggregate_id)
        aggregate_db.remove_host(self._db, aggregate_id, host)
        try:
            node = host_db.get_host_by_name(self._db, host)
        except errors.NotFound:
            return aggregate_db.get(self._db, aggregate_id)  # a host gone from the fleet
        self._mirror(node.uuid, remove=current.uuid)
        return aggregate_db.get(self._db, aggregate_id)

    def _mirror(self, provider: str, add: str | None = None, remove: str | None = None) -> None:
        """Add or remove one placement aggregate of ``provider``, retrying lost races."""
        for _ in range(MIRROR_ATTEMPTS):
            generation, current = self._placement.get_provider_aggregates(provider)
            wanted = (set(current) | ({add} if add else set())) - ({remove} if remove else set())
            if wanted == set(current):
                return
            try:
                self._placement.set_provider_aggregates(provider, generation, sorted(wanted))
                return
            except errors.ConcurrentUpdate:
                continue
        raise errors.ConcurrentUpdate(
            f"placement aggregates of provider {provider}: still conflicting after "
            f"{MIRROR_ATTEMPTS} attempts"
        )

    def _check_hosts_zone(self, aggregate: Aggregate, zone: str) -> None:
        """A zone given to an aggregate may not move its hosts out of another zone."""
        others = [a for a in aggregate_db.list_all(self._db) if a.id != aggregate.id]
        for host in aggregate.hosts:
            current = zone_of(host, others)
            if current not in (DEFAULT_ZONE, zone):
                raise errors.InvalidInput(
                    f"Cannot put aggregate {aggregate.name} in availability zone {zone}: "
                    f"its host {host} is in availability zone {current}."
                )


def _check_zone_name(zone: str | None) -> None:
    if zone is not None and (not zone.strip() or ":" in zone):
        raise errors.InvalidInput(
            f"Invalid availability zone name {zone!r}: it must be non-blank and "
            "hold no ':' (which separates zone and host at boot)."
        )
