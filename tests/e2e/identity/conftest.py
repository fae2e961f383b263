"""Fixtures of the identity tests: a cloud behind the session's real Keystone."""

from __future__ import annotations

import pytest

from support.identity_cloud import RECIPE, IdentityCloud, add_members
from support.plugin import StartSimCloud


@pytest.fixture(scope="module")
def cloud(start_sim_cloud: StartSimCloud) -> IdentityCloud:
    running = start_sim_cloud(RECIPE, view=IdentityCloud)
    add_members(running)
    return running
