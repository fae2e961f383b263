"""The traits each provider's agent reported last (see
:class:`virtfleet.conductor.host_reports.HostReporter`): a new report replaces only
these on the provider, so traits an operator set stay."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, delete, insert, select

from virtfleet.db.engine import Database
from virtfleet.db.models.scheduling import ReportedTraits

TABLE: Table = ReportedTraits.__table__  # type: ignore[assignment]  # declarative: a Table


def last_reported(db: Database, provider_uuid: str) -> frozenset[str] | None:
    """The traits reported last for the provider; None before its first report."""
    with db.read() as conn:
        row = conn.execute(
            select(TABLE.c.traits).where(TABLE.c.provider_uuid == provider_uuid)
        ).one_or_none()
    return None if row is None else frozenset(row.traits)


def record(db: Database, provider_uuid: str, traits: Iterable[str]) -> None:
    """Remember ``traits`` as the provider's last report."""
    with db.write() as conn:
        conn.execute(delete(TABLE).where(TABLE.c.provider_uuid == provider_uuid))
        conn.execute(insert(TABLE).values(provider_uuid=provider_uuid, traits=sorted(traits)))
