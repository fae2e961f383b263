"""image data in the database ([image] store = database): image_data, image_data_chunks

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_data",
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("image_id"),
    )
    op.create_table(
        "image_data_chunks",
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("image_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("image_data_chunks")
    op.drop_table("image_data")
