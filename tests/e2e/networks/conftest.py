"""Fixtures of the networking tests: one in-process cloud of simulated hosts (the
emulation fleet) with a flat physical network configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.clouds import start_embedded
from support.emulation_cloud import FLEET, HOSTS, EmulationCloud
from virtfleet.cli.apiclient import Client


@pytest.fixture(scope="module")
def network_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulationCloud]:
    embedded, _ = start_embedded(
        tmp_path_factory.mktemp("networks"),
        FLEET,
        "network-fleet",
        len(HOSTS),
        compute__resource_provider_refresh_interval=0,
        network__physical_networks=["physnet1:br-phys1"],
    )
    running = EmulationCloud(embedded, Client(embedded.endpoint))
    try:
        yield running
    finally:
        running.embedded.stop()


@pytest.fixture
def cloud(network_cloud: EmulationCloud) -> Iterator[EmulationCloud]:
    """The module's cloud, with every server deleted after the test."""
    yield network_cloud
    network_cloud.delete_all_servers()


@pytest.fixture(scope="module")
def flavor_id(network_cloud: EmulationCloud) -> str:
    return str(network_cloud.api.create_flavor("net.1g", 1, 1024, 1)["id"])
