"""Distributed mode's tests take ``distributed_cloud`` (support/plugin.py) as
``deployment``."""

from __future__ import annotations

import pytest

from support.distributed import Deployment


@pytest.fixture
def deployment(distributed_cloud: Deployment) -> Deployment:
    return distributed_cloud
