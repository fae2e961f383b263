"""guest access: key pairs; a server's key, user data and hostname

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_pairs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_pairs")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_key_pairs_user_id")),
    )
    with op.batch_alter_table("key_pairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_pairs_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("servers") as batch:
        batch.add_column(sa.Column("key_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("key_data", sa.Text(), nullable=True))
        batch.add_column(sa.Column("user_data", sa.Text(), nullable=True))
        batch.add_column(sa.Column("hostname", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("servers") as batch:
        for column in ("hostname", "user_data", "key_data", "key_name"):
            batch.drop_column(column)
    op.drop_index(op.f("ix_key_pairs_user_id"), table_name="key_pairs")
    op.drop_table("key_pairs")
