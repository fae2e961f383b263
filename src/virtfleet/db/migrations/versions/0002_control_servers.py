"""control servers and work owners

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_servers",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_control_servers")),
    )
    op.create_index(op.f("ix_control_servers_heartbeat_at"), "control_servers", ["heartbeat_at"])
    with op.batch_alter_table("servers") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=255), nullable=True))
    with op.batch_alter_table("migrations") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("migrations") as batch:
        batch.drop_column("owner")
    with op.batch_alter_table("servers") as batch:
        batch.drop_column("owner")
    op.drop_index(op.f("ix_control_servers_heartbeat_at"), table_name="control_servers")
    op.drop_table("control_servers")
