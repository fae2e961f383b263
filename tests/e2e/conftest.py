"""Fixtures of the end-to-end tests that start `virtfleet up` as a process
(support/cloud.py); ``libvirt_cloud`` and the other kinds are in support/plugin.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from support.cloud import Cloud, StartCloud, start_cloud, start_real_cloud


@pytest.fixture
def cloud_starter() -> StartCloud:
    """Start further clouds in a test (e.g. to restart on the same data dir)."""
    return start_cloud


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    running = start_cloud(tmp_path_factory.mktemp("cloud"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def cloud_starter_module() -> StartCloud:
    """Module-scoped twin of ``cloud_starter``."""
    return start_cloud


@pytest.fixture(scope="module")
def real_cloud_starter() -> Callable[..., Cloud]:
    """Start a real-host cloud with extra [libvirt] options (module scope)."""
    return start_real_cloud
