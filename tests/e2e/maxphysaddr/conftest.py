from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.fleet_cloud import FleetCloud, start_fleet_cloud


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetCloud]:
    cloud = start_fleet_cloud(tmp_path_factory.mktemp("maxphysaddr"))
    yield cloud
    cloud.embedded.stop()
