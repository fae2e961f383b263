"""Placement tables: providers, inventories, traits, consumers, allocations, changes.

Trait and resource class names are stored as strings; standard names come from
os-traits / os-resource-classes, custom ones are rows of ``placement_traits`` /
``placement_resource_classes``. ``placement_changes`` is an append-only log of the
provider trees each write transaction touched, so every process can reload exactly
those trees into its in-memory snapshot.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from virtfleet.db.base import Base


class ResourceProvider(Base):
    __tablename__ = "placement_providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("placement_providers.id"), nullable=True, index=True
    )
    root_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)


class Inventory(Base):
    __tablename__ = "placement_inventories"

    provider_id: Mapped[int] = mapped_column(
        ForeignKey("placement_providers.id", ondelete="CASCADE"), primary_key=True
    )
    resource_class: Mapped[str] = mapped_column(String(255), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    reserved: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    min_unit: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    max_unit: Mapped[int] = mapped_column(Integer, nullable=False)
    step_size: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)


class CustomTrait(Base):
    __tablename__ = "placement_traits"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)


class CustomResourceClass(Base):
    __tablename__ = "placement_resource_classes"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)


class ProviderTrait(Base):
    __tablename__ = "placement_provider_traits"

    provider_id: Mapped[int] = mapped_column(
        ForeignKey("placement_providers.id", ondelete="CASCADE"), primary_key=True
    )
    trait: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class ProviderAggregate(Base):
    __tablename__ = "placement_provider_aggregates"

    provider_id: Mapped[int] = mapped_column(
        ForeignKey("placement_providers.id", ondelete="CASCADE"), primary_key=True
    )
    aggregate_uuid: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class Consumer(Base):
    __tablename__ = "placement_consumers"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    user_id: Mapped[str] = mapped_column(String(255), nullable=False)
    generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    consumer_type: Mapped[str | None] = mapped_column(String(255), nullable=True)


class Allocation(Base):
    __tablename__ = "placement_allocations"
    __table_args__ = (
        Index("ix_placement_allocations_provider_rc", "provider_id", "resource_class"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consumer_uuid: Mapped[str] = mapped_column(
        ForeignKey("placement_consumers.uuid"), nullable=False, index=True
    )
    provider_id: Mapped[int] = mapped_column(ForeignKey("placement_providers.id"), nullable=False)
    resource_class: Mapped[str] = mapped_column(String(255), nullable=False)
    used: Mapped[int] = mapped_column(Integer, nullable=False)


class Change(Base):
    """One provider tree touched by a write transaction (monotonic ``id``)."""

    __tablename__ = "placement_changes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    root_id: Mapped[int] = mapped_column(Integer, nullable=False)
