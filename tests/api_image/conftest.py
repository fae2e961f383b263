from __future__ import annotations

import pathlib

import pytest
from tests.api_compute.support import Apps, make_apps


@pytest.fixture
def apps(tmp_path: pathlib.Path) -> Apps:
    return make_apps(tmp_path)
