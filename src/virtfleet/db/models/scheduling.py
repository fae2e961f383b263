"""Scheduling tables: server groups and their members, host aggregates (with their
metadata and hosts), the generations that invalidate servers' caches of them, and
the traits each provider's agent last reported."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from virtfleet.db.base import Base
from virtfleet.db.models.compute import utcnow


class ServerGroup(Base):
    """A server group: a policy (affinity, anti-affinity or a soft variant) and its
    rules (``max_server_per_host``) over its members."""

    __tablename__ = "server_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(32))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)


class ServerGroupMember(Base):
    """A server in a group (a server is in at most one group)."""

    __tablename__ = "server_group_members"

    group_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("server_groups.id", ondelete="CASCADE"), primary_key=True
    )
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True, unique=True)


class Aggregate(Base):
    """A host aggregate; ``metadata`` holds ``availability_zone`` like any other key.
    Its uuid is also the placement aggregate its hosts' providers are members of."""

    __tablename__ = "aggregates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=None)


class AggregateHost(Base):
    """A host (compute service host name) in an aggregate."""

    __tablename__ = "aggregate_hosts"

    aggregate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("aggregates.id", ondelete="CASCADE"), primary_key=True
    )
    host: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class CacheGeneration(Base):
    """A counter bumped in the same write transaction as every change of one kind of
    rarely changing data (``name``, e.g. ``aggregates``): a server's cache of that data
    reads the one row to know whether it is still current."""

    __tablename__ = "cache_generations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class ReportedTraits(Base):
    """The traits a provider's agent reported last: a report replaces only these,
    leaving the traits an operator set."""

    __tablename__ = "provider_reported_traits"

    provider_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    traits: Mapped[list[str]] = mapped_column(JSON, default=list)
