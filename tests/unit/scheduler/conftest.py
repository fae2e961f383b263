"""Fixtures of the scheduler tests (helpers live in ``scheduler_fleet``)."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from virtfleet.conf import make_conf
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService
from virtfleet.scheduler.manager import Scheduler

from .scheduler_fleet import BootFactory, Fleet, SchedulerFactory, boot_request, create_schema


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'scheduler.sqlite'}")
    create_schema(database)
    return database


@pytest.fixture
def placement(db: Database) -> PlacementService:
    return PlacementService(db)


@pytest.fixture
def fleet(db: Database, placement: PlacementService) -> Fleet:
    return Fleet(db, placement)


@pytest.fixture
def make_scheduler(db: Database, placement: PlacementService) -> SchedulerFactory:
    """Build a Scheduler over the test database; keyword args are conf overrides and
    ``placement=`` replaces the service (e.g. by one that races)."""

    def factory(placement_: Any = placement, **conf: object) -> Scheduler:
        options: dict[str, object] = {"scheduler__host_cache_seconds": 0.0}
        options.update(conf)
        return Scheduler(make_conf((), (), **options), db, placement_)

    return factory


@pytest.fixture
def scheduler(make_scheduler: SchedulerFactory) -> Scheduler:
    return make_scheduler()


@pytest.fixture
def boot() -> BootFactory:
    """``boot(instance, vcpus, memory_mb, root_gb, image, extra_specs=…, …)``."""
    return boot_request
