"""console auth tokens

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_auth_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("console_type", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("internal_access_path", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_auth_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_auth_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_console_auth_tokens_instance_uuid"), "console_auth_tokens", ["instance_uuid"]
    )
    op.create_index(
        op.f("ix_console_auth_tokens_expires_at"), "console_auth_tokens", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_console_auth_tokens_expires_at"), table_name="console_auth_tokens")
    op.drop_index(op.f("ix_console_auth_tokens_instance_uuid"), table_name="console_auth_tokens")
    op.drop_table("console_auth_tokens")
