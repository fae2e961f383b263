"""Schema migrations with alembic, applied at start."""

from __future__ import annotations

import pathlib

import sqlalchemy
from alembic import command
from alembic.config import Config

MIGRATIONS = pathlib.Path(__file__).parent / "migrations"


def alembic_config(engine: sqlalchemy.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: sqlalchemy.Engine, revision: str = "head") -> None:
    """Apply all migrations up to ``revision`` on ``engine``'s database."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: sqlalchemy.Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (tests of a migration's way back)."""
    command.downgrade(alembic_config(engine), revision)


def head_revision() -> str:
    """The newest migration's revision id."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head
