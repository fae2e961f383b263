from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.migration_cloud import MigrationCloud, start_cloud


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigrationCloud]:
    started = start_cloud(tmp_path_factory.mktemp("migration"))
    started.flavor("m1", ram=1024)
    yield started
    started.embedded.stop()


@pytest.fixture(scope="module")
def image(cloud: MigrationCloud) -> str:
    return cloud.image("cirros")
