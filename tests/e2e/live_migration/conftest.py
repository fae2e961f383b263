from __future__ import annotations

import pytest

from support.migration_cloud import RECIPE, MigrationCloud
from support.plugin import StartSimCloud


@pytest.fixture(scope="module")
def cloud(start_sim_cloud: StartSimCloud) -> MigrationCloud:
    started = start_sim_cloud(RECIPE, view=MigrationCloud)
    started.flavor("m1", ram=1024)
    return started


@pytest.fixture(scope="module")
def image(cloud: MigrationCloud) -> str:
    return cloud.image("cirros")
