from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator

import pytest
from tests.migration.cloud import MigrationCloud, start_cloud

HERE = pathlib.Path(__file__).parent
for helpers in (HERE.parent / "conductor", HERE.parent / "vgpu"):  # the small harness cloud
    if str(helpers) not in sys.path:
        sys.path.insert(0, str(helpers))


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigrationCloud]:
    started = start_cloud(tmp_path_factory.mktemp("migration"))
    started.flavor("m1", ram=1024)
    yield started
    started.embedded.stop()


@pytest.fixture(scope="module")
def image(cloud: MigrationCloud) -> str:
    return cloud.image("cirros")
