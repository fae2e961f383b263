"""Fixtures of the emulation tests: one in-process cloud per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.emulation_cloud import RECIPE, EmulationCloud
from support.plugin import StartSimCloud


@pytest.fixture(scope="module")
def emulation_cloud(start_sim_cloud: StartSimCloud) -> EmulationCloud:
    return start_sim_cloud(RECIPE, view=EmulationCloud)


@pytest.fixture
def cloud(emulation_cloud: EmulationCloud) -> Iterator[EmulationCloud]:
    """The module's cloud, with every server deleted after the test."""
    yield emulation_cloud
    emulation_cloud.delete_all_servers()


@pytest.fixture(scope="module")
def flavor_id(emulation_cloud: EmulationCloud) -> str:
    return str(emulation_cloud.api.create_flavor("emu.1g", 1, 1024, 1)["id"])
