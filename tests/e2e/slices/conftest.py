"""Fixtures of the slice tests: the slice cloud on the suite's ``db``."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from support.slice_cloud import SliceCloud, make_slice_cloud, serve_api
from virtfleet.db.engine import Database


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[SliceCloud]:
    built = make_slice_cloud(tmp_path, db)
    yield built
    built.stop()


@pytest.fixture
def endpoint(cloud: SliceCloud) -> Iterator[str]:
    """The slice cloud's HTTP APIs (for the CLI tests)."""
    with serve_api(cloud) as url:
        yield url
