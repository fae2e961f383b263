from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.orphan_cloud import OrphanCloud, start_cloud
from virtfleet.db.engine import Database


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrphanCloud]:
    started = start_cloud(tmp_path_factory.mktemp("orphans"))
    started.flavor("m1", ram=1024)
    yield started
    started.embedded.stop()


@pytest.fixture(scope="module")
def image(cloud: OrphanCloud) -> str:
    return cloud.image("cirros")


@pytest.fixture
def db(db_on_each_backend: Database) -> Database:
    """The real-libvirt orphan test (no HTTP) runs on every database backend."""
    return db_on_each_backend
