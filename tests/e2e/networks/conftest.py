"""Fixtures of the networking tests: one in-process cloud of simulated hosts (the
emulation fleet) with a flat physical network configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.emulation_cloud import RECIPE, EmulationCloud
from support.plugin import StartSimCloud

#: The emulation fleet with a flat physical network.
NETWORK_RECIPE = RECIPE.but(
    source="network-fleet", conf={"network__physical_networks": ["physnet1:br-phys1"]}
)


@pytest.fixture(scope="module")
def network_cloud(start_sim_cloud: StartSimCloud) -> EmulationCloud:
    return start_sim_cloud(NETWORK_RECIPE, view=EmulationCloud)


@pytest.fixture
def cloud(network_cloud: EmulationCloud) -> Iterator[EmulationCloud]:
    """The module's cloud, with every server deleted after the test."""
    yield network_cloud
    network_cloud.delete_all_servers()


@pytest.fixture(scope="module")
def flavor_id(network_cloud: EmulationCloud) -> str:
    return str(network_cloud.api.create_flavor("net.1g", 1, 1024, 1)["id"])
