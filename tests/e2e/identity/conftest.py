"""Fixtures of the identity tests: a cloud behind the session's real Keystone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.identity_cloud import IdentityCloud, start_identity_cloud


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityCloud]:
    running = start_identity_cloud(tmp_path_factory.mktemp("identity"))
    yield running
    running.embedded.stop()
