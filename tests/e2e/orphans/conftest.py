from __future__ import annotations

import pytest

from support.orphan_cloud import RECIPE, OrphanCloud
from support.plugin import StartSimCloud
from virtfleet.db.engine import Database


@pytest.fixture(scope="module")
def cloud(start_sim_cloud: StartSimCloud) -> OrphanCloud:
    started = start_sim_cloud(RECIPE, view=OrphanCloud)
    started.flavor("m1", ram=1024)
    return started


@pytest.fixture(scope="module")
def image(cloud: OrphanCloud) -> str:
    return cloud.image("cirros")


@pytest.fixture
def db(db_on_each_backend: Database) -> Database:
    """The real-libvirt orphan test (no HTTP) runs on every database backend."""
    return db_on_each_backend
