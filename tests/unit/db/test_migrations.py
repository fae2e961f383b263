"""Migrations and models describe the same schema."""

from __future__ import annotations

import pathlib

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from virtfleet.db.engine import Database
from virtfleet.db.models import metadata


def test_migrations_create_exactly_the_models(tmp_path: pathlib.Path) -> None:
    db = Database.for_data_dir(tmp_path)
    db.upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata())
    assert diff == [], f"models changed without a migration: {diff}"


def test_upgrade_is_idempotent(tmp_path: pathlib.Path) -> None:
    db = Database.for_data_dir(tmp_path)
    db.upgrade()
    db.upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "placement_providers",
        "servers",
        "flavors",
        "images",
        "compute_nodes",
        "alembic_version",
    } <= tables
