from __future__ import annotations

import pytest

from support.fleet_cloud import RECIPE, FleetCloud
from support.plugin import StartSimCloud


@pytest.fixture(scope="module")
def fleet(start_sim_cloud: StartSimCloud) -> FleetCloud:
    return start_sim_cloud(RECIPE, view=FleetCloud)
