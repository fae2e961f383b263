"""Alembic environment: runs against the engine virtfleet hands over."""

from __future__ import annotations

from alembic import context

from virtfleet.db import models

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=models.metadata(),
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
