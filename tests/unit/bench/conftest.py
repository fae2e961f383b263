"""Fixtures of the benchmark tests: small generated fleets loaded into virtfleet."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from virtfleet.bench import load
from virtfleet.bench.fleet import Fleet, generate
from virtfleet.bench.runner import create_schema
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService


@pytest.fixture(scope="module")
def fleet100() -> Fleet:
    return generate(100, seed=0)


@pytest.fixture
def loaded(tmp_path: pathlib.Path, fleet100: Fleet) -> Iterator[PlacementService]:
    """``fleet100`` bulk-loaded into a fresh database, behind a PlacementService."""
    db = Database(f"sqlite:///{tmp_path / 'bench.sqlite'}")
    create_schema(db)
    load.load_fleet(db, fleet100)
    yield PlacementService(db)
    db.dispose()
