"""The boot scenarios without HTTP (from the conductor down) run on every database backend."""

from __future__ import annotations

import pytest

from virtfleet.db.engine import Database


@pytest.fixture
def db(db_on_each_backend: Database) -> Database:
    return db_on_each_backend
