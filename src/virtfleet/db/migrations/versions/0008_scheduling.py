"""server groups, aggregates, scheduler hints and the traits agents reported

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_groups")),
        sa.UniqueConstraint("uuid", name=op.f("uq_server_groups_uuid")),
    )
    op.create_index(op.f("ix_server_groups_project_id"), "server_groups", ["project_id"])
    op.create_table(
        "server_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["server_groups.id"],
            name=op.f("fk_server_group_members_group_id_server_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "instance_uuid", name=op.f("pk_server_group_members")),
        sa.UniqueConstraint("instance_uuid", name=op.f("uq_server_group_members_instance_uuid")),
    )
    op.create_table(
        "aggregates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregates")),
        sa.UniqueConstraint("name", name=op.f("uq_aggregates_name")),
        sa.UniqueConstraint("uuid", name=op.f("uq_aggregates_uuid")),
    )
    op.create_table(
        "aggregate_hosts",
        sa.Column("aggregate_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["aggregate_id"],
            ["aggregates.id"],
            name=op.f("fk_aggregate_hosts_aggregate_id_aggregates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("aggregate_id", "host", name=op.f("pk_aggregate_hosts")),
    )
    op.create_index(op.f("ix_aggregate_hosts_host"), "aggregate_hosts", ["host"])
    op.create_table(
        "provider_reported_traits",
        sa.Column("provider_uuid", sa.String(length=36), nullable=False),
        sa.Column("traits", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("provider_uuid", name=op.f("pk_provider_reported_traits")),
    )
    with op.batch_alter_table("servers") as batch:
        batch.add_column(sa.Column("scheduler_hints", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("availability_zone", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("servers") as batch:
        batch.drop_column("availability_zone")
        batch.drop_column("scheduler_hints")
    op.drop_table("provider_reported_traits")
    op.drop_index(op.f("ix_aggregate_hosts_host"), table_name="aggregate_hosts")
    op.drop_table("aggregate_hosts")
    op.drop_table("aggregates")
    op.drop_table("server_group_members")
    op.drop_index(op.f("ix_server_groups_project_id"), table_name="server_groups")
    op.drop_table("server_groups")
