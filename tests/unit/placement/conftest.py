"""Fixtures: a PlacementService on a fresh SQLite file, and tree-building helpers."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator, Mapping

import pytest
from sqlalchemy import Table

from support.databases import fresh_database
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.models import placement as models
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory, Provider

PLACEMENT_TABLES: list[Table] = [
    model.__table__  # type: ignore[misc]  # declarative models: __table__ is a Table
    for model in (
        models.ResourceProvider,
        models.Inventory,
        models.CustomTrait,
        models.CustomResourceClass,
        models.ProviderTrait,
        models.ProviderAggregate,
        models.Consumer,
        models.Allocation,
        models.Change,
    )
]


def make_database(path: pathlib.Path) -> Database:
    db = Database(f"sqlite:///{path}")
    Base.metadata.create_all(db.engine, tables=PLACEMENT_TABLES)
    return db


@pytest.fixture
def db(tmp_path: pathlib.Path, db_backend: str) -> Iterator[Database]:
    """The placement tables on a new database of each backend."""
    with fresh_database(db_backend, tmp_path, "placement") as database:
        Base.metadata.create_all(database.engine, tables=PLACEMENT_TABLES)
        yield database


@pytest.fixture
def svc(db: Database) -> PlacementService:
    return PlacementService(db)


def add_provider(
    svc: PlacementService,
    name: str,
    inventories: Mapping[str, Inventory | int] | None = None,
    traits: set[str] | None = None,
    parent: Provider | None = None,
) -> Provider:
    """Create a provider with inventories (an int means ``Inventory(total=n)``) and traits."""
    rp = svc.create_provider(name, parent_uuid=parent.uuid if parent else None)
    generation = rp.generation
    if inventories:
        invs = {
            rc: inv if isinstance(inv, Inventory) else Inventory(total=inv)
            for rc, inv in inventories.items()
        }
        generation = svc.set_inventories(rp.uuid, generation, invs)
    if traits:
        for trait in traits:
            if trait.startswith("CUSTOM_"):
                svc.ensure_trait(trait)
        svc.set_provider_traits(rp.uuid, generation, traits)
    return svc.get_provider(rp.uuid)
