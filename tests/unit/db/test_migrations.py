"""Migrations and models describe the same schema."""

from __future__ import annotations

import json
import pathlib

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from virtfleet.db import hosts, migrate
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


def test_0010_moves_the_tunnel_address_out_of_cpu_info_and_back(tmp_path: pathlib.Path) -> None:
    db = Database.for_data_dir(tmp_path)
    migrate.upgrade(db.engine, "0009")
    insert = text(
        "INSERT INTO compute_nodes (uuid, host, hypervisor_type, hypervisor_version, "
        "hypervisor_hostname, vcpus, memory_mb, local_gb, cpu_info, state, status, "
        "forced_down, created_at, updated_at) VALUES (:uuid, :host, 'QEMU', 1, :host, 1, 1, "
        "1, :info, 'up', 'enabled', 0, '2026-01-01', '2026-01-01')"
    )
    with db.engine.begin() as conn:
        old = {"arch": "x86_64", "tunnel_address": "192.0.2.7"}
        conn.execute(insert, {"uuid": "u1", "host": "h1", "info": json.dumps(old)})
        conn.execute(insert, {"uuid": "u2", "host": "h2", "info": json.dumps({"arch": "x86_64"})})
    migrate.upgrade(db.engine, "0010")
    assert hosts.tunnel_addresses(db) == {"h1": "192.0.2.7"}
    assert hosts.get_host_by_name(db, "h1").cpu_info == {"arch": "x86_64"}
    migrate.downgrade(db.engine, "0009")
    with db.engine.connect() as conn:
        infos = dict(conn.execute(text("SELECT host, cpu_info FROM compute_nodes")).all())
    assert json.loads(infos["h1"]) == {"arch": "x86_64", "tunnel_address": "192.0.2.7"}
    assert json.loads(infos["h2"]) == {"arch": "x86_64"}


def test_0012_gives_existing_images_os_hidden_false(tmp_path: pathlib.Path) -> None:
    db = Database.for_data_dir(tmp_path)
    migrate.upgrade(db.engine, "0011")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO images (id, name, status, visibility, protected, min_disk, tags, "
                "properties, min_ram, created_at, updated_at) VALUES ('i1', 'old', 'active', "
                "'shared', 0, 0, '[]', '{}', 0, '2026-01-01', '2026-01-01')"
            )
        )
    migrate.upgrade(db.engine, "0012")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT os_hidden FROM images")).scalar_one() in (0, False)
    migrate.downgrade(db.engine, "0011")
    assert "os_hidden" not in {c["name"] for c in inspect(db.engine).get_columns("images")}
