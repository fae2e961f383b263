"""The mdev claims table: mediated devices a live migration's destination holds.

One row per destination mdev claimed for an incoming migration. The pair (host,
mdev_uuid) is unique, so two migrations can never claim the same device; a row is
deleted when its claim is released (success, rollback, abort) or reaped.
"""

from __future__ import annotations

import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from virtfleet.db.base import Base


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class MdevClaim(Base):
    """A destination mdev held for one migration of one instance."""

    __tablename__ = "mdev_claims"
    __table_args__ = (UniqueConstraint("host", "mdev_uuid", name="uq_mdev_claims_host_mdev"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mdev_uuid: Mapped[str] = mapped_column(String(36))
    host: Mapped[str] = mapped_column(String(255), index=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    migration_uuid: Mapped[str] = mapped_column(String(36), index=True)
    source_mdev_uuid: Mapped[str] = mapped_column(String(36))
    mdev_type: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="claimed")
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
