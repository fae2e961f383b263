from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from support.api_apps import Apps, make_apps
from support.image_source import serve_source


@pytest.fixture
def apps(tmp_path: pathlib.Path) -> Apps:
    return make_apps(tmp_path)


@pytest.fixture
def source() -> Iterator[str]:
    """Base URL of an HTTP server on 127.0.0.1 serving /disk.img (and a redirect)."""
    with serve_source() as url:
        yield url
