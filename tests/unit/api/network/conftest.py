from __future__ import annotations

import pathlib

import pytest

from support.api_apps import Apps, make_apps


@pytest.fixture
def apps(tmp_path: pathlib.Path) -> Apps:
    return make_apps(tmp_path)
